package graphops

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// ClusterLabels is the cluster index of each row of a one-hot assignment
// [N,P,n], as float32 [N,P] (0 for a row in no cluster).
func (o *Ops) ClusterLabels(assign tf.Output) tf.Output {
	return op.Cast(o.Scope(), op.ArgMax(o.Scope(), assign, o.Constant(int32(2))), tf.Float)
}

// ChannelRows turns x [N,h,w,K] into one row per channel: [N,K,h·w].
func (o *Ops) ChannelRows(x tf.Output) tf.Output {
	shape, _ := x.Shape().ToSlice()
	t := op.Transpose(o.Scope(), x, o.Constant([]int32{0, 3, 1, 2}))
	return op.Reshape(o.Scope(), t, o.Constant([]int32{-1, int32(shape[3]), int32(shape[1] * shape[2])}))
}

// ClusterMaps turns per-image cluster rows [N,n,h·w] into copy-major
// maps [n·N,h,w].
func (o *Ops) ClusterMaps(rows tf.Output, h, w int32) tf.Output {
	t := op.Transpose(o.Scope(), rows, o.Constant([]int32{1, 0, 2}))
	return op.Reshape(o.Scope(), t, o.Constant([]int32{-1, h, w}))
}

// ClusterMeans averages the rows of x [N,P,D] per cluster of the one-hot
// assignment [N,P,n]: [N,n,D], zero for an empty cluster.
func (o *Ops) ClusterMeans(x, assign tf.Output) tf.Output {
	sums := op.BatchMatMulV2(o.Scope(), assign, x, op.BatchMatMulV2AdjX(true))
	counts := op.Sum(o.Scope(), assign, o.Constant(int32(1)), op.SumKeepDims(true)) // [N,1,n]
	return o.Div(sums, op.Transpose(o.Scope(), counts, o.Constant([]int32{0, 2, 1})))
}

// SqDistances is ‖x_p − c_j‖² for x [N,P,D] and c [N,J,D]: [N,P,J]. The
// differences are formed explicitly (not ‖x‖² − 2x·c + ‖c‖²) so that a
// point's distance to itself is exactly 0 and ties break alike everywhere.
func (o *Ops) SqDistances(x, c tf.Output) tf.Output {
	d := o.Sub(op.ExpandDims(o.Scope(), x, o.Constant(int32(2))), op.ExpandDims(o.Scope(), c, o.Constant(int32(1))))
	return op.Sum(o.Scope(), o.Square(d), o.Constant(int32(3)))
}

// KMeans clusters the P rows of each x [N,P,D] into n clusters and returns
// the one-hot assignment [N,P,n]. Deterministic and unrolled: the first
// centre is row 0, each next one the row farthest from the centres so far
// (ties: the lowest row), then iters Lloyd steps (an empty cluster keeps
// its centre; ties go to the lowest cluster).
func (o *Ops) KMeans(x tf.Output, n, iters int) tf.Output {
	assign, _ := o.KMeansFit(x, n, iters)
	return assign
}

// KMeansInertia is the k-means inertia of kmeans(x, n, iters): the sum over
// the rows of each x [N,P,D] of the squared distance to the nearest final
// centre, [N].
func (o *Ops) KMeansInertia(x tf.Output, n, iters int) tf.Output {
	_, d := o.KMeansFit(x, n, iters)
	nearest := op.Min(o.Scope(), d, o.Constant(int32(2)))
	return op.Sum(o.Scope(), nearest, o.Constant(int32(1)))
}

// KMeansFit is kmeans, also returning the squared distances [N,P,n] of the
// rows to the final centres that the assignment is the argmin of.
func (o *Ops) KMeansFit(x tf.Output, n, iters int) (assign, dist tf.Output) {
	one := o.Constant(int32(1))
	centres := op.Slice(o.Scope(), x, o.Constant([]int32{0, 0, 0}), o.Constant([]int32{-1, 1, -1}))
	nearest := op.Squeeze(o.Scope(), o.SqDistances(x, centres), op.SqueezeAxis([]int64{2})) // [N,P]
	for j := 1; j < n; j++ {
		far := op.ArgMax(o.Scope(), nearest, one, op.ArgMaxOutputType(tf.Int32))
		next := op.ExpandDims(o.Scope(), op.GatherV2(o.Scope(), x, far, one, op.GatherV2BatchDims(1)), one) // [N,1,D]
		centres = op.ConcatV2(o.Scope(), []tf.Output{centres, next}, one)
		d := op.Squeeze(o.Scope(), o.SqDistances(x, next), op.SqueezeAxis([]int64{2}))
		nearest = op.Minimum(o.Scope(), nearest, d)
	}
	nearestCentre := func() (tf.Output, tf.Output) {
		d := o.SqDistances(x, centres)
		idx := op.ArgMin(o.Scope(), d, o.Constant(int32(2)), op.ArgMinOutputType(tf.Int32))
		return op.OneHot(o.Scope(), idx, o.Constant(int32(n)), o.Const(1), o.Const(0)), d
	}
	for it := 0; it < iters; it++ {
		a, _ := nearestCentre()
		counts := op.Transpose(o.Scope(), op.Sum(o.Scope(), a, one, op.SumKeepDims(true)), o.Constant([]int32{0, 2, 1})) // [N,n,1]
		has := op.Cast(o.Scope(), op.Greater(o.Scope(), counts, o.Const(0)), tf.Float)
		means := o.Div(op.BatchMatMulV2(o.Scope(), a, x, op.BatchMatMulV2AdjX(true)), counts)
		centres = o.Add(o.Mul(has, means), o.Mul(o.Sub(o.Const(1), has), centres))
	}
	return nearestCentre()
}
