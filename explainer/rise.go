package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[RISE]{
	Name: "rise", Family: FamilyMore, Order: 180,
	Summary: "RISE: Σ_j y(x⊙M_j)·M_j / Σ_j M_j over random binary grid masks, upsampled bilinearly to (1 + 1/grid)× and shifted at random, signed",
	Notes:   "seeded; = Xplique Rise (its defaults) fed the same masks and shifts (its per-pixel ÷ Σ M; tfcam's raw map is Xplique's minus y(x), for float32 precision); the paper's ÷ N·p as `variant=expected`",
	Options: []Option{
		{Name: "samples", Default: 4000, Min: 1, Doc: "masks (forward passes per image)"},
		{Name: "grid", Default: 7, Min: 1, Doc: "mask cells per side"},
		{Name: "keep", Default: 0.5, Min: 1e-6, Max: 1 - 1e-6, Doc: "probability that a cell is kept"},
		{Name: "value", Default: 0.0, Doc: "what replaces the masked pixels"},
		{Name: "variant", Default: "coverage", Allowed: []string{"coverage", "expected"}, Doc: "÷ Σ_j M_j (Xplique's) or ÷ samples·keep (the paper's)"},
	},
	Cost: func(m RISE, _ Geometry) Cost { return Cost{Copies: m.Samples, ChunkBuilt: m.Samples} },
})

// RISE (Petsiuk et al. 2018) probes the model with Samples random masks and
// weights each mask by the explained score of the image it keeps:
// S = Σ_j y(x ⊙ M_j + (1 − M_j)·Value)·M_j / Σ_j M_j. Each mask is a
// Grid×Grid grid of cells kept with probability Keep, upsampled bilinearly
// to (1 + 1/Grid) times the input's size and cropped at a random offset
// (so cell edges fall anywhere), as Xplique's Rise: its defaults (4,000
// masks, a 7×7 grid, keep 0.5, value 0) and its normalisation by the
// per-pixel mask sum Σ_j M_j. The paper divides by the expected sum,
// Samples·Keep, instead: variant=expected. With logits as scores the paper's
// form adds the mean score times the masks' uneven coverage to the map;
// Xplique's removes it, so it is the default. tfcam's raw map of that
// variant is Xplique's minus the unmasked image's score y(x) (a constant:
// the same normalised map; see Build). Signed (no ReLU), as Xplique's. Seeded: the masks and offsets depend on Config.Seed and the
// mask's number only, the same for every image of a batch. Cost: Samples
// forward passes per image.
type RISE struct {
	// Samples is the number of masks.
	Samples int
	// Grid is the masks' cells per side.
	Grid int
	// Keep is the probability that a cell is kept.
	Keep float32
	// Value replaces the masked pixels.
	Value float32
	// Variant is "coverage" (÷ Σ_j M_j, Xplique's) or "expected"
	// (÷ Samples·Keep, the paper's).
	Variant string
}

// Name implements Method.
func (RISE) Name() string { return "rise" }

// Needs implements Method.
func (RISE) Needs() Needs { return Needs{} }

// InputResolution implements Method.
func (RISE) InputResolution() bool { return true }

// Signed implements signedMethod: attributions keep their sign.
func (RISE) Signed() bool { return true }

// riseUpsampled is the size Xplique upsamples a grid of g cells to along a
// side of n px: n·(1 + 1/g), truncated.
func riseUpsampled(n, g int) int { return int(float64(n) * (1.0 + 1.0/float64(g))) }

// Build implements Method.
func (m RISE) Build(o *Ops, t Tensors) (tf.Output, error) {
	c := t.Ctx
	m = Resolve(m)
	n, g, keep := m.Samples, m.Grid, m.Keep
	h, w := int(c.Input.Shape().Size(1)), int(c.Input.Shape().Size(2))
	uh, uw := riseUpsampled(h, g), riseUpsampled(w, g)
	// The low-resolution masks [n,g,g,1] and each mask's crop offset [n,2]
	// (row, column), drawn once per seed: mask j is the same for every image.
	seed := func(stream int64) tf.Output { return constant(o.s, []int64{c.Seed, stream}) }
	cells := op.StatelessRandomUniform(o.Scope(), constant(o.s, []int32{int32(n), int32(g), int32(g), 1}), seed(4))
	grids := op.Cast(o.Scope(), op.Less(o.Scope(), cells, o.Const(keep)), tf.Float)
	u := op.StatelessRandomUniform(o.Scope(), constant(o.s, []int32{int32(n), 2}), seed(5))
	offsets := op.Cast(o.Scope(), op.Floor(o.Scope(), o.Mul(u, constant(o.s, []float32{float32(uh - h + 1), float32(uw - w + 1)}))), tf.Int32)
	c.probe("rise/grids", grids)
	c.probe("rise/offsets", offsets)
	size := constant(o.s, []int32{int32(uh), int32(uw)})
	masks := func(o *Ops, j tf.Output) tf.Output {
		up := op.ResizeBilinear(o.Scope(), op.GatherV2(o.Scope(), grids, j, constant(o.s, int32(0))), size, op.ResizeBilinearHalfPixelCenters(true))
		up = op.Squeeze(o.Scope(), up, op.SqueezeAxis([]int64{3})) // [m,uh,uw]
		off := op.GatherV2(o.Scope(), offsets, j, constant(o.s, int32(0)))
		return cropAt(o, up, off, h, w)
	}
	expected := m.Variant == "expected"
	sums, coverage, err := c.MaskedSums(o, n, masks, func(o *Ops, x, mk tf.Output) tf.Output {
		return fill(o, x, mk, m.Value, true)
	}, func(o *Ops, s, i tf.Output) tf.Output {
		if expected {
			return s
		}
		// Σ_j y_j·M_j / Σ_j M_j − y(x): the same map shifted by a constant,
		// but its float32 sums keep the small differences between the
		// scores, which sums of the scores themselves round away on a model
		// whose scores hardly move (1e-5 relative: 6e-3 on the normalised
		// map of the random-weight EfficientNet).
		return o.Sub(s, op.GatherV2(o.Scope(), c.Selected, i, constant(o.s, int32(0))))
	})
	if err != nil {
		return tf.Output{}, err
	}
	if expected {
		return o.Mul(sums, o.Const(1/(float32(n)*keep))), nil
	}
	return o.Div(sums, coverage), nil
}

// cropAt crops each x[i] [m,H',W'] to h×w starting at row off[i,0] and
// column off[i,1] (off int32 [m,2]).
func cropAt(o *Ops, x, off tf.Output, h, w int) tf.Output {
	index := func(axis int32, n int) tf.Output { // [m,n]: off[:,axis] + 0…n−1
		start := op.StridedSlice(o.Scope(), off, constant(o.s, []int32{0, axis}), constant(o.s, []int32{0, axis + 1}), constant(o.s, []int32{1, 1}),
			op.StridedSliceBeginMask(1), op.StridedSliceEndMask(1)) // [m,1]
		return op.AddV2(o.Scope(), start, op.Range(o.Scope(), constant(o.s, int32(0)), constant(o.s, int32(n)), constant(o.s, int32(1))))
	}
	rows := op.GatherV2(o.Scope(), x, index(0, h), constant(o.s, int32(1)), op.GatherV2BatchDims(1)) // [m,h,W']
	return op.GatherV2(o.Scope(), rows, index(1, w), constant(o.s, int32(2)), op.GatherV2BatchDims(1))
}
