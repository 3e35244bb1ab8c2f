package explainer

import (
	"math"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = register(Spec[GroupCAM]{
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
// into G contiguous groups of ⌈K/G⌉ channels (G = 32 by default, fewer when
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
	// Groups is G (default 32).
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
	masks := rescaleMaps(o, t.Upsample(op.Reshape(o.Scope(), kept, constant(o.s, []int32{-1, h, w})))) // [g·N,H,W]

	x := c.Input
	hh, ww := x.Shape().Size(1), x.Shape().Size(2)
	scale := float64(max(hh, ww)) / 224
	radius := int(math.Round((51*scale - 1) / 2))
	blurred := gaussianBlurSigma(o, x, max(radius, 1), 50*scale)
	scores, err := maskedGains(o, c, x, blurred, masks, g, false)
	if err != nil {
		return tf.Output{}, err
	}
	return weightedMasks(o, c, scores, masks, g), nil
}

// maskedGains runs the n masked copies x·M + base·(1−M) (masks [n·N,H,W],
// copy-major) and base itself through the model as one batch and returns
// f(masked)_c − f(base)_c as [n,N]: f the model's output, or the explained
// score when explained is true.
func maskedGains(o *Ops, c *Context, x, base, masks tf.Output, n int, explained bool) (tf.Output, error) {
	m4 := op.ExpandDims(o.Scope(), masks, constant(o.s, int32(3)))
	masked := o.Add(o.Mul(c.Repeat(o, x, n), m4), o.Mul(c.Repeat(o, base, n), o.Sub(o.Const(1), m4)))
	return gainsOver(o, c, masked, base, n, explained)
}

// gainsOver runs n copies of each image [n·N,...] and a baseline per image
// [N,...] as one batch and returns, per copy, the class's score on the copy
// minus its score on the baseline: [n,N]. The score is the probability, or
// the explained score when explained.
func gainsOver(o *Ops, c *Context, copies, base tf.Output, n int, explained bool) (tf.Output, error) {
	batch := op.ConcatV2(o.Scope(), []tf.Output{copies, base}, constant(o.s, int32(0)))
	run := c.Probabilities
	if explained {
		run = c.Scores
	}
	out, err := run(batch)
	if err != nil {
		return tf.Output{}, err
	}
	sel := c.Split(o, c.Select(o, out, c.Repeat(o, c.Targets, n+1)), n+1) // [n+1,N]
	gains := op.Slice(o.Scope(), sel, constant(o.s, []int32{0, 0}), constant(o.s, []int32{int32(n), -1}))
	ref := op.Slice(o.Scope(), sel, constant(o.s, []int32{int32(n), 0}), constant(o.s, []int32{1, -1}))
	return o.Sub(gains, ref), nil
}

// weightedMasks is Σ_j w_j M_j for weights [n,N] and masks [n·N,H,W]: [N,H,W].
func weightedMasks(o *Ops, c *Context, weights, masks tf.Output, n int) tf.Output {
	wt := op.Reshape(o.Scope(), weights, constant(o.s, []int32{int32(n), -1, 1, 1}))
	return op.Sum(o.Scope(), o.Mul(wt, c.Split(o, masks, n)), constant(o.s, int32(0)))
}

// rescaleMaps min–max scales each map of m [M,H,W] to [0,1]; flat maps
// become 0.
func rescaleMaps(o *Ops, m tf.Output) tf.Output {
	axes := constant(o.s, []int32{1, 2})
	lo := op.Min(o.Scope(), m, axes, op.MinKeepDims(true))
	hi := op.Max(o.Scope(), m, axes, op.MaxKeepDims(true))
	return o.Div(o.Sub(m, lo), o.Sub(hi, lo))
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

// gaussianBlurSigma blurs each channel of x [N,H,W,C] with a Gaussian of
// standard deviation sigma px truncated to 2·radius+1 taps (separable,
// reflect padding, as kornia's gaussian_blur2d).
// GaussianBlur appends a separable Gaussian blur of x [N,H,W,C] with
// standard deviation sigma px and radius 3σ (reflected borders), for
// baselines made in the graph (here and in package evaluate).
func GaussianBlur(s *op.Scope, x tf.Output, sigma float64) tf.Output {
	return gaussianBlurSigma(&Ops{s: s}, x, int(math.Ceil(3*sigma)), sigma)
}

func gaussianBlurSigma(o *Ops, x tf.Output, radius int, sigma float64) tf.Output {
	ch := x.Shape().Size(3)
	radius = min(radius, int(min(x.Shape().Size(1), x.Shape().Size(2)))-1)
	k := make([]float64, 2*radius+1)
	var sum float64
	for i := range k {
		d := float64(i - radius)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	pass := func(in tf.Output, kh, kw int) tf.Output {
		filter := make([]float32, 0, len(k)*int(ch))
		for _, v := range k {
			for c := int64(0); c < ch; c++ {
				filter = append(filter, float32(v/sum))
			}
		}
		f := op.Reshape(o.Scope(), constant(o.s, filter), constant(o.s, []int32{int32(kh), int32(kw), int32(ch), 1}))
		padH, padW := int32((kh-1)/2), int32((kw-1)/2)
		padded := op.MirrorPad(o.Scope(), in, constant(o.s, [][]int32{{0, 0}, {padH, padH}, {padW, padW}, {0, 0}}), "REFLECT")
		return op.DepthwiseConv2dNative(o.Scope(), padded, f, []int64{1, 1, 1, 1}, "VALID")
	}
	return pass(pass(x, len(k), 1), 1, len(k))
}
