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
	Notes:   "= Xplique Occlusion (its defaults: 3-px patches, stride 3, value 0); one forward pass per patch: ⌈(H−size+1)/stride⌉·⌈(W−size+1)/stride⌉ (2,809 at 160 px)",
	Options: []Option{
		{Name: "size", Default: 3, Min: 1, Doc: "patch side in pixels"},
		{Name: "stride", Default: 3, Min: 1, Doc: "step between patches in pixels"},
		{Name: "value", Default: 0.0, Doc: "what the patch puts in place of the pixels"},
	},
	Cost: func(m Occlusion, g Geometry) Cost { return Cost{Copies: len(m.anchors(g.H)) * len(m.anchors(g.W))} },
})

// Occlusion (Zeiler & Fergus 2014) slides a Size×Size patch of the value
// Value over the image with stride Stride and credits each pixel with the
// score's drop, summed over the patches that cover it:
// Σ_p (y(x) − y(x with patch p occluded))·1[pixel in p]. Signed (a patch
// whose removal raises the score counts against its pixels). Xplique's
// Occlusion, with its defaults: 3-px patches, stride 3, value 0 (in the
// model's input space); patches start at 0, stride, … while they fit, so
// up to Stride − 1 rows and columns at the bottom and right edge may stay
// uncovered (zero), as in Xplique. Cost: ⌈(H − Size + 1)/Stride⌉ ·
// ⌈(W − Size + 1)/Stride⌉ forward passes per image (5,476 at 224 px with
// the defaults; size=16:stride=8 takes 729).
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

// anchors are the patches' first rows (or columns) along a side of n px.
func (m Occlusion) anchors(n int) []int {
	m = Resolve(m)
	size, stride := m.Size, m.Stride
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
	m = Resolve(m)
	size := m.Size
	// Patch p = r·len(cols)+q covers rows rows[r]… and columns cols[q]…: its
	// mask is the outer product of a row and a column indicator, so only
	// those ([P,H] and [P,W]) are constants.
	rows, cols := m.anchors(h), m.anchors(w)
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
