package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = register(Spec[ClusterCAM]{
	Name: "clustercam", Family: FamilyMore, Order: 70,
	Summary: "Cluster-CAM: k-means (in the graph) of channel maps, best minus worst cluster",
	Notes:   "the paper's method section was not available: an interpretation, see `explainer/clustercam.go`",
	Options: []Option{
		{Name: "clusters", Default: 10, Min: 1, Doc: "k-means clusters (at most K)"},
		{Name: "iterations", Default: 10, Min: 1, Doc: "Lloyd steps"},
	},
	Cost: func(m ClusterCAM, g Geometry) Cost { return Cost{Copies: min(m.Clusters, g.K)} },
})

// ClusterCAM is Cluster-CAM (Feng et al. 2023, arXiv 2302.01642), gradient
// free as the paper is. Only the paper's abstract was reachable when this
// was written, so the details follow tetutaro/class_activation_mapping's
// reading of it (its channel_minmax option), made gradient-free. Each
// channel map A_k, min–max scaled to [0,1] at the layer's resolution, is a
// point; k-means splits the K points of each image into Clusters clusters,
// deterministically: farthest-point initialisation from channel 0, then
// Iterations Lloyd steps, unrolled in the graph (an empty cluster keeps its
// centre). Each cluster's centre, upsampled and min–max scaled, is a mask
// M_j, scored as Score-CAM scores a channel: s_j = f(x·M_j)_c with f the
// model's output (the softmax probability), all clusters of all images as
// one batch. With ŝ = s/‖s‖₂, the cognition-base is the best cluster b and
// the cognition-scissors the worst one q:
//
//	map = ReLU(ŝ_b·M_b − (1 − ŝ_b)·M_q)
//
// Clustering at the layer's resolution (not on the upsampled maps) keeps
// the k-means cheap; the masks are at the input's.
type ClusterCAM struct {
	// Clusters is the number of clusters (default 10, at most K).
	Clusters int
	// Iterations is the number of Lloyd steps (default 10).
	Iterations int
}

// Name implements Method.
func (ClusterCAM) Name() string { return "clustercam" }

// Needs implements Method.
func (ClusterCAM) Needs() Needs { return Needs{} }

// InputResolution implements Method.
func (ClusterCAM) InputResolution() bool { return true }

func clusterParams(clusters, iters, def, k int) (int, int) {
	if clusters <= 0 {
		clusters = def
	}
	return min(clusters, k), kmeansIterations(iters)
}

// kmeansIterations is the number of Lloyd steps: iters, 10 by default.
func kmeansIterations(iters int) int {
	if iters <= 0 {
		return 10
	}
	return iters
}

// Build implements Method.
func (m ClusterCAM) Build(o *Ops, t Tensors) (tf.Output, error) {
	c := t.Ctx
	shape, _ := t.A.Shape().ToSlice()
	h, w, k := int32(shape[1]), int32(shape[2]), int(shape[3])
	n, iters := clusterParams(m.Clusters, m.Iterations, 10, k)
	maps := channelRows(o, t.A) // [N,K,h·w]
	axis := constant(o.s, []int32{2})
	lo := op.Min(o.Scope(), maps, axis, op.MinKeepDims(true))
	hi := op.Max(o.Scope(), maps, axis, op.MaxKeepDims(true))
	feats := o.Div(o.Sub(maps, lo), o.Sub(hi, lo))
	assign := kmeans(o, feats, n, iters)
	c.probe("clustercam/labels", labelsOf(o, assign))
	centres := clusterMeans(o, feats, assign) // [N,n,h·w]
	masks := rescaleMaps(o, t.Upsample(clusterLayerMaps(o, centres, h, w)))
	out, err := c.Probabilities(o.Mul(c.Repeat(o, c.Input, n), op.ExpandDims(o.Scope(), masks, constant(o.s, int32(3)))))
	if err != nil {
		return tf.Output{}, err
	}
	s := c.Split(o, c.Select(o, out, c.Repeat(o, c.Targets, n)), n) // [n,N]
	norm := op.Sqrt(o.Scope(), op.Sum(o.Scope(), o.Square(s), constant(o.s, int32(0)), op.SumKeepDims(true)))
	s = o.Div(s, norm)
	zero := constant(o.s, int32(0))
	best, worst := op.ArgMax(o.Scope(), s, zero), op.ArgMin(o.Scope(), s, zero)
	c.probe("clustercam/best", op.Cast(o.Scope(), best, tf.Float))
	c.probe("clustercam/worst", op.Cast(o.Scope(), worst, tf.Float))
	base := op.OneHot(o.Scope(), best, constant(o.s, int32(n)), o.Const(1), o.Const(0), op.OneHotAxis(0))
	scis := op.OneHot(o.Scope(), worst, constant(o.s, int32(n)), o.Const(1), o.Const(0), op.OneHotAxis(0))
	sb := op.Sum(o.Scope(), o.Mul(s, base), zero, op.SumKeepDims(true)) // [1,N]
	weights := o.Sub(o.Mul(base, sb), o.Mul(scis, o.Sub(o.Const(1), sb)))
	return weightedMasks(o, c, weights, masks, n), nil
}

// labelsOf is the cluster index of each row of a one-hot assignment
// [N,P,n], as float32 [N,P] (0 for a row in no cluster).
func labelsOf(o *Ops, assign tf.Output) tf.Output {
	return op.Cast(o.Scope(), op.ArgMax(o.Scope(), assign, constant(o.s, int32(2))), tf.Float)
}

// channelRows turns x [N,h,w,K] into one row per channel: [N,K,h·w].
func channelRows(o *Ops, x tf.Output) tf.Output {
	shape, _ := x.Shape().ToSlice()
	t := op.Transpose(o.Scope(), x, constant(o.s, []int32{0, 3, 1, 2}))
	return op.Reshape(o.Scope(), t, constant(o.s, []int32{-1, int32(shape[3]), int32(shape[1] * shape[2])}))
}

// clusterLayerMaps turns per-image cluster rows [N,n,h·w] into copy-major
// maps [n·N,h,w].
func clusterLayerMaps(o *Ops, rows tf.Output, h, w int32) tf.Output {
	t := op.Transpose(o.Scope(), rows, constant(o.s, []int32{1, 0, 2}))
	return op.Reshape(o.Scope(), t, constant(o.s, []int32{-1, h, w}))
}

// clusterMeans averages the rows of x [N,P,D] per cluster of the one-hot
// assignment [N,P,n]: [N,n,D], zero for an empty cluster.
func clusterMeans(o *Ops, x, assign tf.Output) tf.Output {
	sums := op.BatchMatMulV2(o.Scope(), assign, x, op.BatchMatMulV2AdjX(true))
	counts := op.Sum(o.Scope(), assign, constant(o.s, int32(1)), op.SumKeepDims(true)) // [N,1,n]
	return o.Div(sums, op.Transpose(o.Scope(), counts, constant(o.s, []int32{0, 2, 1})))
}

// sqDistances is ‖x_p − c_j‖² for x [N,P,D] and c [N,J,D]: [N,P,J]. The
// differences are formed explicitly (not ‖x‖² − 2x·c + ‖c‖²) so that a
// point's distance to itself is exactly 0 and ties break alike everywhere.
func sqDistances(o *Ops, x, c tf.Output) tf.Output {
	d := o.Sub(op.ExpandDims(o.Scope(), x, constant(o.s, int32(2))), op.ExpandDims(o.Scope(), c, constant(o.s, int32(1))))
	return op.Sum(o.Scope(), o.Square(d), constant(o.s, int32(3)))
}

// kmeans clusters the P rows of each x [N,P,D] into n clusters and returns
// the one-hot assignment [N,P,n]. Deterministic and unrolled: the first
// centre is row 0, each next one the row farthest from the centres so far
// (ties: the lowest row), then iters Lloyd steps (an empty cluster keeps
// its centre; ties go to the lowest cluster).
func kmeans(o *Ops, x tf.Output, n, iters int) tf.Output {
	assign, _ := kmeansFit(o, x, n, iters)
	return assign
}

// kmeansInertia is the k-means inertia of kmeans(x, n, iters): the sum over
// the rows of each x [N,P,D] of the squared distance to the nearest final
// centre, [N].
func kmeansInertia(o *Ops, x tf.Output, n, iters int) tf.Output {
	_, d := kmeansFit(o, x, n, iters)
	nearest := op.Min(o.Scope(), d, constant(o.s, int32(2)))
	return op.Sum(o.Scope(), nearest, constant(o.s, int32(1)))
}

// kmeansFit is kmeans, also returning the squared distances [N,P,n] of the
// rows to the final centres that the assignment is the argmin of.
func kmeansFit(o *Ops, x tf.Output, n, iters int) (assign, dist tf.Output) {
	one := constant(o.s, int32(1))
	centres := op.Slice(o.Scope(), x, constant(o.s, []int32{0, 0, 0}), constant(o.s, []int32{-1, 1, -1}))
	nearest := op.Squeeze(o.Scope(), sqDistances(o, x, centres), op.SqueezeAxis([]int64{2})) // [N,P]
	for j := 1; j < n; j++ {
		far := op.ArgMax(o.Scope(), nearest, one, op.ArgMaxOutputType(tf.Int32))
		next := op.ExpandDims(o.Scope(), op.GatherV2(o.Scope(), x, far, one, op.GatherV2BatchDims(1)), one) // [N,1,D]
		centres = op.ConcatV2(o.Scope(), []tf.Output{centres, next}, one)
		d := op.Squeeze(o.Scope(), sqDistances(o, x, next), op.SqueezeAxis([]int64{2}))
		nearest = op.Minimum(o.Scope(), nearest, d)
	}
	nearestCentre := func() (tf.Output, tf.Output) {
		d := sqDistances(o, x, centres)
		idx := op.ArgMin(o.Scope(), d, constant(o.s, int32(2)), op.ArgMinOutputType(tf.Int32))
		return op.OneHot(o.Scope(), idx, constant(o.s, int32(n)), o.Const(1), o.Const(0)), d
	}
	for it := 0; it < iters; it++ {
		a, _ := nearestCentre()
		counts := op.Transpose(o.Scope(), op.Sum(o.Scope(), a, one, op.SumKeepDims(true)), constant(o.s, []int32{0, 2, 1})) // [N,n,1]
		has := op.Cast(o.Scope(), op.Greater(o.Scope(), counts, o.Const(0)), tf.Float)
		means := o.Div(op.BatchMatMulV2(o.Scope(), a, x, op.BatchMatMulV2AdjX(true)), counts)
		centres = o.Add(o.Mul(has, means), o.Mul(o.Sub(o.Const(1), has), centres))
	}
	return nearestCentre()
}
