package explainer

import (
	"fmt"
	"strconv"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[Occlusion]{
	Name: "occlusion", Family: FamilyMore, Order: 170,
	Summary: "Σ over the patches covering a pixel of y(x) − y(x with the patch occluded), signed",
	Notes:   "default patch 1/14 of the input's shorter side, stride half the patch (16 px, stride 8, 729 forward passes at 224 px); `size=3:stride=3` = Xplique Occlusion's defaults (5,476 passes at 224 px); one forward pass per patch: ⌊(H−size)/stride+1⌋·⌊(W−size)/stride+1⌋",
	Options: []Option{
		{Name: "size", Default: 0, Min: 1, Doc: "patch side in pixels (default: the input's shorter side / 14, rounded up)"},
		{Name: "stride", Default: 0, Min: 1, Doc: "step between patches in pixels (default: half the patch, rounded up)"},
		{Name: "value", Default: 0.0, Doc: "what the patch puts in place of the pixels"},
	},
	Cost: func(m Occlusion, g Geometry) Cost {
		size, stride := m.patch(g.H, g.W)
		n := len(anchors(g.H, size, stride)) * len(anchors(g.W, size, stride))
		return Cost{Copies: n, ChunkBuilt: n} // MaskedSums
	},
})

// OcclusionDivisor sets the default patch side: the input's shorter side
// divided by it, rounded up — 16 px at 224 px (one patch per cell of a
// 14×14 grid, moved by half a patch), 3 px at 32 px. Xplique's 3-px default at 224 px scores the
// pointing game near the random baseline on real photos (a 3-px hole
// barely moves a model's score) at 7.5 times the forward passes.
const OcclusionDivisor = 14

// Occlusion (Zeiler & Fergus 2014) slides a Size×Size patch of the value
// Value over the image with stride Stride and credits each pixel with the
// score's drop, summed over the patches that cover it:
// Σ_p (y(x) − y(x with patch p occluded))·1[pixel in p]. Signed (a patch
// whose removal raises the score counts against its pixels). Xplique's
// Occlusion; patches start at 0, stride, … while they fit, so up to
// Stride − 1 rows and columns at the bottom and right edge may stay
// uncovered (zero), as in Xplique. Value is in the model's input space.
//
// Size 0 (the default) is the input's shorter side / OcclusionDivisor,
// rounded up; Stride 0 is half the patch, rounded up: 16 px
// with stride 8 at 224 px, 729 forward passes per image, the same share of
// the image at any input size. Size 3, Stride 3 are Xplique's defaults
// (5,476 passes at 224 px). Cost: ⌊(H − Size)/Stride + 1⌋ ·
// ⌊(W − Size)/Stride + 1⌋ forward passes per image.
type Occlusion struct {
	// Size is the patch's side in pixels.
	Size int
	// Stride is the step between patches in pixels.
	Stride int
	// Value is what the patch puts in place of the pixels.
	Value float32
}

// Name implements Method.
func (Occlusion) Name() string { return "occlusion" }

// Needs implements Method.
func (Occlusion) Needs() Needs { return Needs{} }

// InputResolution implements Method.
func (Occlusion) InputResolution() bool { return true }

// Signed implements signedMethod: attributions keep their sign.
func (Occlusion) Signed() bool { return true }

// patch is the patch side and stride on an h×w input: the options, or
// their defaults scaled to the input.
func (m Occlusion) patch(h, w int) (size, stride int) {
	m = Resolve(m)
	size, stride = m.Size, m.Stride
	if size == 0 {
		size = (min(h, w) + OcclusionDivisor - 1) / OcclusionDivisor
	}
	if stride == 0 {
		stride = (size + 1) / 2
	}
	return size, stride
}

// anchors are the patches' first rows (or columns) along a side of n px.
func anchors(n, size, stride int) []int {
	var out []int
	for a := 0; a+size <= n; a += stride {
		out = append(out, a)
	}
	return out
}

// Build implements Method.
func (m Occlusion) Build(o *Ops, t Tensors) (tf.Output, error) {
	c := t.Ctx
	h, w := int(c.Input.Shape().Size(1)), int(c.Input.Shape().Size(2))
	size, stride := m.patch(h, w)
	// Patch p = r·len(cols)+q covers rows rows[r]… and columns cols[q]…: its
	// mask is the outer product of a row and a column indicator, so only
	// those ([P,H] and [P,W]) are constants.
	rows, cols := anchors(h, size, stride), anchors(w, size, stride)
	if len(rows) == 0 || len(cols) == 0 {
		return tf.Output{}, &OptionError{Method: m.Name(), Option: "size", Value: strconv.Itoa(size), Want: fmt.Sprintf("a patch no larger than the input (%d×%d px)", h, w)}
	}
	var rowInd, colInd [][]float32
	for _, r := range rows {
		for range cols {
			rowInd = append(rowInd, indicator(h, r, size))
		}
	}
	for range rows {
		for _, q := range cols {
			colInd = append(colInd, indicator(w, q, size))
		}
	}
	rowC, colC := constant(o.s, rowInd), constant(o.s, colInd)
	masks := func(o *Ops, j tf.Output) tf.Output {
		r := op.ExpandDims(o.Scope(), op.GatherV2(o.Scope(), rowC, j, constant(o.s, int32(0))), constant(o.s, int32(2))) // [m,H,1]
		q := op.ExpandDims(o.Scope(), op.GatherV2(o.Scope(), colC, j, constant(o.s, int32(0))), constant(o.s, int32(1))) // [m,1,W]
		return o.Mul(r, q)
	}
	base := c.Selected
	sums, _, err := c.MaskedSums(o, len(rowInd), masks, func(o *Ops, x, mk tf.Output) tf.Output {
		return fill(o, x, mk, m.Value, false)
	}, func(o *Ops, s, i tf.Output) tf.Output {
		return o.Sub(op.GatherV2(o.Scope(), base, i, constant(o.s, int32(0))), s)
	})
	return sums, err
}

// fill puts v into x [m,H,W,C] where mask [m,H,W] is 1 (keep false) or
// where it is 0 (keep true), blending linearly in between.
func fill(o *Ops, x, mask tf.Output, v float32, keep bool) tf.Output {
	mk := op.ExpandDims(o.Scope(), mask, constant(o.s, int32(3)))
	if !keep {
		mk = o.Sub(o.Const(1), mk)
	}
	return o.Add(o.Mul(x, mk), o.Mul(o.Const(v), o.Sub(o.Const(1), mk)))
}

// indicator is 1 on [from, from+size) of n values, else 0.
func indicator(n, from, size int) []float32 {
	v := make([]float32, n)
	for i := from; i < from+size && i < n; i++ {
		v[i] = 1
	}
	return v
}
