package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[ClusterCAM]{
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
	// Clusters is the number of clusters (0: the registered default; at most K).
	Clusters int
	// Iterations is the number of Lloyd steps (0: the registered default).
	Iterations int
}

// Name implements Method.
func (ClusterCAM) Name() string { return "clustercam" }

// Needs implements Method.
func (ClusterCAM) Needs() Needs { return Needs{} }

// InputResolution implements Method.
func (ClusterCAM) InputResolution() bool { return true }

// Build implements Method.
func (m ClusterCAM) Build(o *Ops, t Tensors) (tf.Output, error) {
	m = Resolve(m)
	c := t.Ctx
	shape, _ := t.A.Shape().ToSlice()
	h, w, k := int32(shape[1]), int32(shape[2]), int(shape[3])
	n, iters := min(m.Clusters, k), m.Iterations
	maps := o.g().ChannelRows(t.A) // [N,K,h·w]
	axis := constant(o.s, []int32{2})
	lo := op.Min(o.Scope(), maps, axis, op.MinKeepDims(true))
	hi := op.Max(o.Scope(), maps, axis, op.MaxKeepDims(true))
	feats := o.Div(o.Sub(maps, lo), o.Sub(hi, lo))
	assign := o.g().KMeans(feats, n, iters)
	c.probe("clustercam/labels", o.g().ClusterLabels(assign))
	centres := o.g().ClusterMeans(feats, assign) // [N,n,h·w]
	masks := o.MinMax(t.Upsample(o.g().ClusterMaps(centres, h, w)))
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
