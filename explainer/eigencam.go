package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = register(Spec[EigenCAM]{
	Name: "eigencam", Family: FamilyGradient, Order: 70,
	Summary:       "first principal component of the activations",
	Notes:         "sign fixed to correlate with the mean activation (where that map is flat, as after LayerNorm: the larger tail positive)",
	NoEigenSmooth: "eigencam is already the first principal component of its activations (pytorch-grad-cam ignores eigen_smooth here)",
})

// EigenCAM (Muhammad & Yeasin 2020) is the gradient-free baseline: the
// activations, as an (h·w)×K matrix centred per channel, projected on their
// first right singular vector. It does not depend on the target class.
//
// An SVD fixes a singular vector only up to sign; tfcam picks the sign that
// makes the projection correlate positively with the mean activation map, so
// the salient region comes out positive (pytorch-grad-cam leaves the sign to
// the SVD routine). Where the mean map does not vary over the positions
// (its spread at most 1e-4 of the largest activation: LayerNorm outputs of
// transformers have a zero mean per token), that correlation is rounding
// noise, and the sign makes the projection's larger tail positive
// (Σ p³ > 0) instead.
type EigenCAM struct{ layerMethod }

// Name implements Method.
func (EigenCAM) Name() string { return "eigencam" }

// Needs implements Method.
func (EigenCAM) Needs() Needs { return Needs{} }

// Build implements Method.
func (EigenCAM) Build(o *Ops, t Tensors) (tf.Output, error) {
	return firstComponent(o, t.A), nil
}

// firstComponent is the map of x [N,h,w,K] on its first principal
// component: x as an (h·w)×K matrix per image, centred per channel,
// projected on its first right singular vector, with EigenCAM's sign: [N,h,w].
func firstComponent(o *Ops, x tf.Output) tf.Output {
	flat, spatial := positions(o, x)
	centred := o.Sub(flat, op.Mean(o.Scope(), flat, constant(o.s, []int32{1}), op.MeanKeepDims(true)))
	_, _, v := op.Svd(o.Scope(), centred, op.SvdComputeUv(true), op.SvdFullMatrices(false))
	// First right singular vector as [N,K,1].
	v0 := op.StridedSlice(o.Scope(), v, constant(o.s, []int32{0, 0, 0}), constant(o.s, []int32{0, 0, 1}), constant(o.s, []int32{1, 1, 1}),
		op.StridedSliceBeginMask(3), op.StridedSliceEndMask(3))
	proj := op.BatchMatMulV2(o.Scope(), centred, v0) // [N, h·w, 1]
	return op.Reshape(o.Scope(), orient(o, proj, flat), spatial)
}

// positions views x [N,h,w,K] as per-position vectors [N,h·w,K]; spatial
// is [N,h,w], the shape to view a [N,h·w,1] map back.
func positions(o *Ops, x tf.Output) (flat, spatial tf.Output) {
	shape := op.Shape(o.Scope(), x, op.ShapeOutType(tf.Int32))
	n := op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{0}), constant(o.s, []int32{1}), constant(o.s, []int32{1}))
	k := op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{3}), constant(o.s, []int32{4}), constant(o.s, []int32{1}))
	flat = op.Reshape(o.Scope(), x, op.ConcatV2(o.Scope(), []tf.Output{n, constant(o.s, []int32{-1}), k}, constant(o.s, int32(0))))
	spatial = op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{0}), constant(o.s, []int32{3}), constant(o.s, []int32{1}))
	return flat, spatial
}

// orient gives a component proj [N,P,1] of the vectors flat [N,P,K]
// EigenCAM's sign: positively correlated with the mean map of flat, or,
// where that map is flat, with its larger tail positive.
func orient(o *Ops, proj, flat tf.Output) tf.Output {
	meanMap := op.Mean(o.Scope(), flat, constant(o.s, []int32{2}), op.MeanKeepDims(true))
	byMean := op.Sign(o.Scope(), o.SpatialSumFlat(o.Mul(proj, meanMap)))
	byTail := op.Sign(o.Scope(), o.SpatialSumFlat(o.Mul(proj, o.Square(proj))))
	maxAbs := func(x tf.Output) tf.Output {
		return op.Max(o.Scope(), op.Abs(o.Scope(), x), constant(o.s, []int32{1, 2}), op.MaxKeepDims(true))
	}
	spread := maxAbs(o.Sub(meanMap, op.Mean(o.Scope(), meanMap, constant(o.s, []int32{1}), op.MeanKeepDims(true))))
	varies := op.Greater(o.Scope(), spread, o.Mul(o.Const(1e-4), maxAbs(flat)))
	return o.Mul(proj, op.Select(o.Scope(), op.Reshape(o.Scope(), varies, constant(o.s, []int32{-1})), byMean, byTail))
}
