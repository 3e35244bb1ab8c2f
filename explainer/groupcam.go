package explainer

import (
	"math"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[GroupCAM]{
	Name: "groupcam", Family: FamilyMore, Order: 60,
	Summary: "Group-CAM: channel groups, Grad-CAM-weighted, 70th-percentile threshold, masked vs blurred input",
	Notes:   "official code's variant",
	Options: []Option{{Name: "groups", Default: 32, Min: 1, Doc: "channel groups (fewer when K is small)"}},
	Cost: func(m GroupCAM, g Geometry) Cost {
		n, _ := groupSizes(g.K, m.Groups)
		return Cost{Copies: n + 1}
	},
})

// GroupCAM is Group-CAM (Zhang et al. 2021, arXiv 2103.13859), the variant
// of the official code (wofmanaf/Group-CAM, cam/groupcam.py): the
// Grad-CAM-weighted channels w_k·A_k (w_k = mean of the gradients) are cut
// into G contiguous groups of ⌈K/G⌉ channels (G as registered below, fewer when
// K is small, as torch.chunk does); each group's sum, after ReLU, is
// "de-noised" by keeping only the values above its 70th percentile
// (numpy's linear interpolation), upsampled and min–max scaled to a mask
// M_g. The masked image keeps the image where the mask is high and a
// Gaussian blur of it elsewhere, x·M_g + blur(x)·(1−M_g), and
//
//	β_g = f(x·M_g + blur(x)·(1−M_g))_c − f(blur(x))_c,   map = ReLU(Σ_g β_g M_g)
//
// with f the model's output (its softmax probabilities for a softmax head).
// The paper's blur is kernel 51, σ 50 at 224 px; here both scale with the
// input (kernel 15, σ 14.3 at 64 px). A flat group mask contributes
// nothing (the official code skips it). All G masked copies of all images
// and the blurred images go through the model as one batch of (G+1)·N.
type GroupCAM struct {
	// Groups is G (0: the registered default).
	Groups int
}

// Name implements Method.
func (GroupCAM) Name() string { return "groupcam" }

// Needs implements Method.
func (GroupCAM) Needs() Needs { return Needs{LayerGrad: true} }

// InputResolution implements Method.
func (GroupCAM) InputResolution() bool { return true }

// groupSizes is torch.chunk's split of k channels into at most g groups
// (g > 0): groups of ⌈k/g⌉ channels, the last one possibly shorter.
func groupSizes(k, g int) (groups, size int) {
	size = (k + g - 1) / g
	return (k + size - 1) / size, size
}

// Build implements Method.
func (m GroupCAM) Build(o *Ops, t Tensors) (tf.Output, error) {
	m = Resolve(m)
	c := t.Ctx
	shape, _ := t.A.Shape().ToSlice()
	h, w, k := int32(shape[1]), int32(shape[2]), int(shape[3])
	g, size := groupSizes(k, m.Groups)
	weighted := o.Mul(o.SpatialMean(t.G), t.A)
	// Zero channels pad the last group to full size: [N,h,w,g,size] → [N,h,w,g].
	padded := op.Pad(o.Scope(), weighted, constant(o.s, [][]int32{{0, 0}, {0, 0}, {0, 0}, {0, int32(g*size - k)}}))
	sums := op.Sum(o.Scope(), op.Reshape(o.Scope(), padded, constant(o.s, []int32{-1, h, w, int32(g), int32(size)})), constant(o.s, int32(4)))
	flat := op.Reshape(o.Scope(), op.Transpose(o.Scope(), o.Relu(sums), constant(o.s, []int32{3, 0, 1, 2})), constant(o.s, []int32{-1, h * w})) // [g·N, h·w]
	thr := percentileRows(o, flat, 0.7)
	above := op.Greater(o.Scope(), flat, thr)
	c.probe("groupcam/keep", op.Cast(o.Scope(), above, tf.Float)) // [g·N, h·w]
	kept := o.Where(above, flat, op.ZerosLike(o.Scope(), flat))
	masks := o.MinMax(t.Upsample(op.Reshape(o.Scope(), kept, constant(o.s, []int32{-1, h, w})))) // [g·N,H,W]

	x := c.Input
	hh, ww := x.Shape().Size(1), x.Shape().Size(2)
	scale := float64(max(hh, ww)) / 224
	radius := int(math.Round((51*scale - 1) / 2))
	blurred := o.g().GaussianBlur(x, max(radius, 1), 50*scale)
	scores, err := maskedGains(o, c, x, blurred, masks, g, false)
	if err != nil {
		return tf.Output{}, err
	}
	return weightedMasks(o, c, scores, masks, g), nil
}

// ascendingAt returns column i (0-based, ascending order) of each row of x
// [M,P] sorted: [M,1].
func ascendingAt(o *Ops, sorted tf.Output, p, i int) tf.Output {
	return op.GatherV2(o.Scope(), sorted, constant(o.s, []int32{int32(p - 1 - i)}), constant(o.s, int32(1)))
}

// percentileRows is numpy.percentile(x, 100q, axis=1, keepdims=True) with
// linear interpolation, for x [M,P] with P known: [M,1].
func percentileRows(o *Ops, x tf.Output, q float64) tf.Output {
	p := int(x.Shape().Size(1))
	sorted, _ := op.TopKV2(o.Scope(), x, constant(o.s, int32(p))) // descending
	pos := q * float64(p-1)
	lo := int(math.Floor(pos))
	frac := float32(pos - float64(lo))
	v := ascendingAt(o, sorted, p, lo)
	if frac == 0 || lo+1 >= p {
		return v
	}
	return o.Add(v, o.Mul(o.Const(frac), o.Sub(ascendingAt(o, sorted, p, lo+1), v)))
}

// lowerMedianRows is torch.median of each row of x [M,P] (the lower of the
// two middle values for even P): [M,1].
func lowerMedianRows(o *Ops, x tf.Output) tf.Output {
	p := int(x.Shape().Size(1))
	sorted, _ := op.TopKV2(o.Scope(), x, constant(o.s, int32(p)))
	return ascendingAt(o, sorted, p, (p-1)/2)
}
