package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// CosineCAM is Cosine-CAM, which has no paper: its only public definition
// is tetutaro/class_activation_mapping (cam/models/cosine_cam.py with
// cam/base/channel_weight.py). That definition, and where tfcam departs
// from it:
//
//   - channel maps S_k = mean(g_k)·A_k (Grad-CAM-weighted channels);
//   - each map, standardised by the image's mean over all maps, is
//     L2-normalised, so that Euclidean distance between two maps is their
//     cosine distance; the original normalises the rows of U from the SVD
//     of the standardised channel × position matrix, but when K ≤ h·w
//     those rows are orthonormal (all pairwise distances √2) and carry no
//     information, so tfcam normalises the rows of U·Σ — the standardised
//     maps themselves — which is what the comment in the original intends;
//   - the channels are grouped by k-means on these features (tfcam's
//     deterministic in-graph k-means, see ClusterCAM) instead of spectral
//     clustering, at the layer's resolution instead of the input's, into a
//     fixed number of Groups (default 5) instead of the k-means elbow over
//     3…⌈log₂K⌉+1 groups, which would make the number of forward passes
//     depend on the image;
//   - group map G_j = mean of its S_k, upsampled; its min–max scaling M_j
//     masks the image over a Gaussian blur (σ = 51 px at 224 px, scaled to
//     the input): gain_j = y_c(x·M_j + blur(x)·(1−M_j)) − y_c(blur(x)),
//     y the explained score (the logit: the original's log-odds of a
//     sigmoid are the logit); a flat group gets 0;
//   - map = Σ_j ĝ_j G_j − median(Σ_j ĝ_j G_j) with ĝ = gain/‖gain‖₂ (the
//     lower median over the input's pixels, as torch.median), then ReLU.
type CosineCAM struct {
	// Groups is the number of channel groups (default 5, at most K).
	Groups int
	// Iterations is the number of k-means steps (default 10).
	Iterations int
}

// Name implements Method.
func (CosineCAM) Name() string { return "cosinecam" }

// Needs implements Method.
func (CosineCAM) Needs() Needs { return Needs{LayerGrad: true} }

// InputResolution implements Method.
func (CosineCAM) InputResolution() bool { return true }

// Build implements Method.
func (m CosineCAM) Build(o *Ops, t Tensors) (tf.Output, error) {
	c := t.Ctx
	shape, _ := t.A.Shape().ToSlice()
	h, w, k := int32(shape[1]), int32(shape[2]), int(shape[3])
	n, iters := clusterParams(m.Groups, m.Iterations, 5, k)
	maps := channelRows(o, o.Mul(o.SpatialMean(t.G), t.A)) // [N,K,h·w]
	centred := o.Sub(maps, op.Mean(o.Scope(), maps, constant(o.s, []int32{1, 2}), op.MeanKeepDims(true)))
	norm := op.Sqrt(o.Scope(), op.Sum(o.Scope(), o.Square(centred), constant(o.s, int32(2)), op.SumKeepDims(true)))
	groups := t.Upsample(clusterLayerMaps(o, clusterMeans(o, maps, kmeans(o, o.Div(centred, norm), n, iters)), h, w)) // [n·N,H,W]
	axes := constant(o.s, []int32{1, 2})
	lo := op.Min(o.Scope(), groups, axes)
	hi := op.Max(o.Scope(), groups, axes)
	valid := c.Split(o, op.Cast(o.Scope(), op.Greater(o.Scope(), hi, lo), tf.Float), n) // [n,N]
	x := c.Input
	hh, ww := x.Shape().Size(1), x.Shape().Size(2)
	sigma := 51 * float64(max(hh, ww)) / 224
	gains, err := maskedGains(o, c, x, gaussianBlurSigma(o, x, int(3*sigma+0.5), sigma), rescaleMaps(o, groups), n, true)
	if err != nil {
		return tf.Output{}, err
	}
	gains = o.Mul(gains, valid)
	gains = o.Div(gains, op.Sqrt(o.Scope(), op.Sum(o.Scope(), o.Square(gains), constant(o.s, int32(0)), op.SumKeepDims(true))))
	sum := weightedMasks(o, c, gains, groups, n) // [N,H,W]
	median := lowerMedianRows(o, op.Reshape(o.Scope(), sum, constant(o.s, []int32{-1, int32(hh * ww)})))
	return o.Sub(sum, op.ExpandDims(o.Scope(), median, constant(o.s, int32(2)))), nil
}
