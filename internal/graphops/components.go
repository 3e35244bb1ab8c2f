package graphops

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// FirstComponent is the map of x [N,h,w,K] on its first principal
// component: x as an (h·w)×K matrix per image, centred per channel,
// projected on its first right singular vector, with EigenCAM's sign: [N,h,w].
func (o *Ops) FirstComponent(x tf.Output) tf.Output {
	flat, spatial := o.Positions(x)
	centred := o.Sub(flat, op.Mean(o.Scope(), flat, o.Constant([]int32{1}), op.MeanKeepDims(true)))
	_, _, v := op.Svd(o.Scope(), centred, op.SvdComputeUv(true), op.SvdFullMatrices(false))
	// First right singular vector as [N,K,1].
	v0 := op.StridedSlice(o.Scope(), v, o.Constant([]int32{0, 0, 0}), o.Constant([]int32{0, 0, 1}), o.Constant([]int32{1, 1, 1}),
		op.StridedSliceBeginMask(3), op.StridedSliceEndMask(3))
	proj := op.BatchMatMulV2(o.Scope(), centred, v0) // [N, h·w, 1]
	return op.Reshape(o.Scope(), o.Orient(proj, flat), spatial)
}

// Positions views x [N,h,w,K] as per-position vectors [N,h·w,K]; spatial
// is [N,h,w], the shape to view a [N,h·w,1] map back.
func (o *Ops) Positions(x tf.Output) (flat, spatial tf.Output) {
	shape := op.Shape(o.Scope(), x, op.ShapeOutType(tf.Int32))
	n := op.StridedSlice(o.Scope(), shape, o.Constant([]int32{0}), o.Constant([]int32{1}), o.Constant([]int32{1}))
	k := op.StridedSlice(o.Scope(), shape, o.Constant([]int32{3}), o.Constant([]int32{4}), o.Constant([]int32{1}))
	flat = op.Reshape(o.Scope(), x, op.ConcatV2(o.Scope(), []tf.Output{n, o.Constant([]int32{-1}), k}, o.Constant(int32(0))))
	spatial = op.StridedSlice(o.Scope(), shape, o.Constant([]int32{0}), o.Constant([]int32{3}), o.Constant([]int32{1}))
	return flat, spatial
}

// Orient gives a component proj [N,P,1] of the vectors flat [N,P,K]
// EigenCAM's sign: positively correlated with the mean map of flat, or,
// where that map is flat, with its larger tail positive.
func (o *Ops) Orient(proj, flat tf.Output) tf.Output {
	meanMap := op.Mean(o.Scope(), flat, o.Constant([]int32{2}), op.MeanKeepDims(true))
	byMean := op.Sign(o.Scope(), o.SpatialSumFlat(o.Mul(proj, meanMap)))
	byTail := op.Sign(o.Scope(), o.SpatialSumFlat(o.Mul(proj, o.Square(proj))))
	maxAbs := func(x tf.Output) tf.Output {
		return op.Max(o.Scope(), op.Abs(o.Scope(), x), o.Constant([]int32{1, 2}), op.MaxKeepDims(true))
	}
	spread := maxAbs(o.Sub(meanMap, op.Mean(o.Scope(), meanMap, o.Constant([]int32{1}), op.MeanKeepDims(true))))
	varies := op.Greater(o.Scope(), spread, o.Mul(o.Const(1e-4), maxAbs(flat)))
	return o.Mul(proj, op.Select(o.Scope(), op.Reshape(o.Scope(), varies, o.Constant([]int32{-1})), byMean, byTail))
}
