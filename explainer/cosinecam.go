package explainer

import (
	"math"
	"math/bits"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[CosineCAM]{
	Name: "cosinecam", Family: FamilyMore, Order: 80,
	Summary: "Cosine-CAM: tetutaro's definition: spectral clustering of the Grad-CAM-weighted channels into the k-means elbow's number of groups (kneed's, in the graph; ⌈log₂K⌉+3 forward passes per image), group masks' logit gain over a blurred input",
	Notes:   "deterministic k-means instead of k-means++, cosine features at the layer's resolution: see `explainer/cosinecam.go`",
	Options: []Option{
		{Name: "groups", Default: 0, Min: 1, Doc: "channel groups (at most K); 0: the k-means elbow chooses"},
		{Name: "iterations", Default: 10, Min: 1, Doc: "k-means steps"},
	},
	Cost: func(m CosineCAM, g Geometry) Cost {
		n, _ := cosineLayout(m.Groups, g.K) // max_groups slots when the elbow chooses
		return Cost{Copies: n + 1}
	},
})

// CosineCAM is Cosine-CAM, which has no paper: its only public definition
// is tetutaro/class_activation_mapping (cam/models/cosine_cam.py with
// cam/base/channel_weight.py). That definition, and where tfcam departs
// from it, all in the graph (one Session.Run per batch):
//
//   - channel maps S_k = mean(g_k)·A_k (Grad-CAM-weighted channels), at
//     the layer's resolution (the original enlarges them to the input's
//     before clustering);
//   - features: each map, standardised by the image's mean over all maps,
//     is L2-normalised, so that Euclidean distance between two maps is
//     their cosine distance. The original normalises the rows of U from the
//     SVD of the standardised channel × position matrix, but when K ≤ h·w
//     those rows are orthonormal (all pairwise distances √2) and carry no
//     information, so tfcam normalises the rows of U·Σ — the standardised
//     maps themselves — which is what the comment in the original intends;
//   - the number of groups n is the k-means elbow, as the original's
//     _estimate_n_groups: max_groups = ⌈log₂K⌉ + 2 (n = 3 if that is below
//     5), the k-means inertia for each candidate 3 … max_groups−1, and the
//     first elbow of kneed 0.8.5's KneeLocator(curve="convex",
//     direction="decreasing", S=1, offline) on those inertias, re-implemented
//     in the graph (see kneedleConvexDecreasing), max_groups when it finds
//     none. Groups > 0 fixes n instead. The k-means is tfcam's
//     deterministic one (farthest-point initialisation from channel 0, then
//     Lloyd steps, see ClusterCAM), not scikit-learn's k-means++ with a
//     random state, so its inertias, and so the elbow, can differ;
//   - the channels are split into n groups by spectral clustering as
//     scikit-learn's SpectralClustering(affinity="nearest_neighbors"): the
//     10-nearest-neighbour connectivity (self included), symmetrised, its
//     normalised Laplacian, the eigenvectors of its n smallest eigenvalues
//     divided by √degree (see spectralEmbedding), then again tfcam's
//     deterministic k-means on those rows instead of scikit-learn's random
//     k-means++ (within a repeated eigenvalue the eigenvectors are free up
//     to a rotation, which changes no distance and so not that k-means);
//   - since n depends on the image while the graph's shapes are static,
//     the clustering is done for every possible n (3 … max_groups) and each
//     image keeps the one of its n; there are max_groups group slots, the
//     ones past n are empty, get gain 0 and change nothing. So each image
//     costs max_groups + 1 forward passes (14 at K = 1280), whatever its n;
//     the clustering itself adds an eigendecomposition of a K×K matrix and
//     K² pairwise distances per image;
//   - group map G_j = mean of its S_k, upsampled; its min–max scaling M_j
//     masks the image over a Gaussian blur (σ = 51 px at 224 px, scaled to
//     the input): gain_j = y_c(x·M_j + blur(x)·(1−M_j)) − y_c(blur(x)),
//     y the explained score (the logit: the original's log-odds of a
//     sigmoid are the logit); a flat group gets 0;
//   - map = Σ_j ĝ_j G_j − median(Σ_j ĝ_j G_j) with ĝ = gain/‖gain‖₂ (the
//     lower median over the input's pixels, as torch.median), then ReLU.
type CosineCAM struct {
	// Groups fixes the number of channel groups (at most K); 0, the
	// default, chooses it per image by the k-means elbow.
	Groups int
	// Iterations is the number of k-means steps (0: the registered default).
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
	m = Resolve(m)
	c := t.Ctx
	shape, _ := t.A.Shape().ToSlice()
	h, w := int32(shape[1]), int32(shape[2])
	maps, feats := cosineFeatures(o, t.A, t.G)
	assign, n, chosen := cosineGroups(o, feats, m.Groups, m.Iterations)
	c.probe("cosinecam/groups", chosen)
	c.probe("cosinecam/labels", o.g().ClusterLabels(assign))
	groups := t.Upsample(o.g().ClusterMaps(o.g().ClusterMeans(maps, assign), h, w)) // [n·N,H,W]
	axes := constant(o.s, []int32{1, 2})
	lo := op.Min(o.Scope(), groups, axes)
	hi := op.Max(o.Scope(), groups, axes)
	valid := c.Split(o, op.Cast(o.Scope(), op.Greater(o.Scope(), hi, lo), tf.Float), n) // [n,N]
	x := c.Input
	hh, ww := x.Shape().Size(1), x.Shape().Size(2)
	sigma := 51 * float64(max(hh, ww)) / 224
	gains, err := maskedGains(o, c, x, o.g().GaussianBlur(x, int(3*sigma+0.5), sigma), o.MinMax(groups), n, true)
	if err != nil {
		return tf.Output{}, err
	}
	gains = o.Mul(gains, valid)
	gains = o.Div(gains, op.Sqrt(o.Scope(), op.Sum(o.Scope(), o.Square(gains), constant(o.s, int32(0)), op.SumKeepDims(true))))
	sum := weightedMasks(o, c, gains, groups, n) // [N,H,W]
	median := lowerMedianRows(o, op.Reshape(o.Scope(), sum, constant(o.s, []int32{-1, int32(hh * ww)})))
	return o.Sub(sum, op.ExpandDims(o.Scope(), median, constant(o.s, int32(2)))), nil
}

// cosineLayout is the number of group slots (masked forward passes besides
// the baseline) for K channels, and whether that number is also the group
// count (Groups set, or too few channels for an elbow) rather than the
// largest count the elbow can choose.
func cosineLayout(groups, k int) (slots int, fixed bool) {
	if groups > 0 {
		return min(groups, k), true
	}
	maxGroups := bits.Len(uint(max(k, 1)-1)) + 2 // ⌈log₂K⌉ + 2
	if maxGroups < 5 {
		return min(3, k), true
	}
	return maxGroups, false
}

// cosineFeatures returns the Grad-CAM-weighted channel maps S_k = mean(g_k)·A_k
// of a [N,h,w,K] and g as rows [N,K,h·w], and their clustering features:
// the rows centred by the image's mean over all maps and L2-normalised.
func cosineFeatures(o *Ops, a, g tf.Output) (maps, feats tf.Output) {
	maps = o.g().ChannelRows(o.Mul(o.SpatialMean(g), a))
	centred := o.Sub(maps, op.Mean(o.Scope(), maps, constant(o.s, []int32{1, 2}), op.MeanKeepDims(true)))
	norm := op.Sqrt(o.Scope(), op.Sum(o.Scope(), o.Square(centred), constant(o.s, int32(2)), op.SumKeepDims(true)))
	return maps, o.Div(centred, norm)
}

// cosineGroups clusters the K feature rows of each image (feats [N,K,D]) by
// spectral clustering into the elbow's number of groups (or groups, if
// positive) and returns the one-hot assignment [N,K,slots] with its slot
// count and each image's group count [N]; the slots past an image's group
// count are all zero.
func cosineGroups(o *Ops, feats tf.Output, groups, iters int) (tf.Output, int, tf.Output) {
	k := int(feats.Shape().Size(1))
	slots, fixed := cosineLayout(groups, k)
	emb := spectralEmbedding(o, feats, slots)
	if fixed {
		count := o.Add(op.ZerosLike(o.Scope(), op.Sum(o.Scope(), feats, constant(o.s, []int32{1, 2}))), o.Const(float32(slots)))
		return o.g().KMeans(emb, slots, iters), slots, count
	}
	chosen := cosineElbow(o, feats, slots, iters) // [N]
	var assign tf.Output
	for n := 3; n <= slots; n++ {
		cols := op.Slice(o.Scope(), emb, constant(o.s, []int32{0, 0, 0}), constant(o.s, []int32{-1, -1, int32(n)}))
		a := o.g().KMeans(cols, n, iters)
		if n < slots {
			a = op.Pad(o.Scope(), a, constant(o.s, [][]int32{{0, 0}, {0, 0}, {0, int32(slots - n)}}))
		}
		sel := op.Cast(o.Scope(), op.Equal(o.Scope(), chosen, o.Const(float32(n))), tf.Float)
		a = o.Mul(a, op.Reshape(o.Scope(), sel, constant(o.s, []int32{-1, 1, 1})))
		if n == 3 {
			assign = a
		} else {
			assign = o.Add(assign, a)
		}
	}
	return assign, slots, chosen
}

// cosineElbow is the number of groups chosen by the k-means elbow over the
// candidates 3 … maxGroups−1 for each image's rows feats [N,K,D]: the
// inertia of kmeans for each candidate, then kneed's elbow (kneedle); [N],
// maxGroups where there is no elbow.
func cosineElbow(o *Ops, feats tf.Output, maxGroups, iters int) tf.Output {
	var xs []float64
	var ys []tf.Output
	for n := 3; n < maxGroups; n++ {
		xs = append(xs, float64(n))
		ys = append(ys, o.g().KMeansInertia(feats, n, iters))
	}
	return kneedleConvexDecreasing(o, xs, op.Pack(o.Scope(), ys, op.PackAxis(1)), float32(maxGroups))
}

// kneedleConvexDecreasing is, for each row y of ys [N,M] over the common
// x (increasing, M ≥ 2), the offline elbow of kneed 0.8.5's
// KneeLocator(x, y, S=1, curve="convex", direction="decreasing",
// interp_method="interp1d"): [N], none where kneed finds none. Step by step
// as kneed: the interp1d fit at x is y itself (kneed's may differ from y by
// an ulp); x and y min–max normalised (a flat y gives 0/0 = NaN, as in
// numpy, and so no local maximum and no elbow); y → max(y) − y; difference
// curve d = y − x; local maxima and minima of d as
// argrelextrema(greater_equal / less_equal, order 1, mode "clip"); the
// threshold at a maximum i is d_i − |mean(diff(x))|; walking i from the
// first maximum to the last-but-one point, the threshold is set at each
// maximum (remembering i) and reset to 0 at each minimum, and the first i
// with d_{i+1} below it returns the remembered maximum's x.
func kneedleConvexDecreasing(o *Ops, x []float64, ys tf.Output, none float32) tf.Output {
	m := len(x)
	xn := make([]float32, m)
	var step float64
	for i := range x {
		xn[i] = float32((x[i] - x[0]) / (x[m-1] - x[0]))
		if i > 0 {
			step += (x[i]-x[0])/(x[m-1]-x[0]) - (x[i-1]-x[0])/(x[m-1]-x[0])
		}
	}
	offset := o.Const(float32(math.Abs(step / float64(m-1)))) // S = 1
	one := constant(o.s, int32(1))
	lo := op.Min(o.Scope(), ys, one, op.MinKeepDims(true))
	hi := op.Max(o.Scope(), ys, one, op.MaxKeepDims(true))
	yn := op.Div(o.Scope(), o.Sub(ys, lo), o.Sub(hi, lo)) // not DivNoNan: 0/0 must be NaN
	yt := o.Sub(op.Max(o.Scope(), yn, one, op.MaxKeepDims(true)), yn)
	d := op.Unpack(o.Scope(), o.Sub(yt, constant(o.s, [][]float32{xn})), int64(m), op.UnpackAxis(1)) // M × [N]
	zero := op.ZerosLike(o.Scope(), d[0])
	full := func(v float32) tf.Output { return o.Add(zero, o.Const(v)) }
	extremum := func(i int, cmp func(*op.Scope, tf.Output, tf.Output) tf.Output) tf.Output {
		return op.LogicalAnd(o.Scope(), cmp(o.Scope(), d[i], d[min(i+1, m-1)]), cmp(o.Scope(), d[i], d[max(i-1, 0)]))
	}
	knee, threshold, at := full(none), zero, zero
	started := op.NotEqual(o.Scope(), zero, zero) // false
	found := started
	for i := 0; i < m-1; i++ {
		isMax := extremum(i, op.GreaterEqual)
		isMin := extremum(i, op.LessEqual)
		started = op.LogicalOr(o.Scope(), started, isMax)
		threshold = o.Where(isMax, o.Sub(d[i], offset), threshold)
		at = o.Where(isMax, full(float32(x[i])), at)
		threshold = o.Where(isMin, zero, threshold)
		hit := op.LogicalAnd(o.Scope(), op.LogicalAnd(o.Scope(), started, op.LogicalNot(o.Scope(), found)), op.Less(o.Scope(), d[i+1], threshold))
		knee = o.Where(hit, at, knee)
		found = op.LogicalOr(o.Scope(), found, hit)
	}
	return knee
}

// pairChunk bounds the elements per image of one explicit-difference
// tensor [K,K,chunk] in pairwiseSqDistances.
const pairChunk = 1 << 22

// pairwiseSqDistances is sqDistances(x, x) for x [N,P,D], [N,P,P], summed
// over chunks of the D axis so that the explicit differences of wide rows
// (K = 1280 channels) stay small; a row's distance to itself is exactly 0
// and the matrix exactly symmetric.
func pairwiseSqDistances(o *Ops, x tf.Output) tf.Output {
	p, dim := int(x.Shape().Size(1)), int(x.Shape().Size(2))
	chunk := max(1, pairChunk/(p*p))
	if chunk >= dim {
		return o.g().SqDistances(x, x)
	}
	var sum tf.Output
	for s := 0; s < dim; s += chunk {
		part := op.Slice(o.Scope(), x, constant(o.s, []int32{0, 0, int32(s)}), constant(o.s, []int32{-1, -1, int32(min(chunk, dim-s))}))
		d := o.g().SqDistances(part, part)
		if s == 0 {
			sum = d
		} else {
			sum = o.Add(sum, d)
		}
	}
	return sum
}

// spectralEmbedding is scikit-learn's spectral embedding of the rows of
// each x [N,P,D] as SpectralClustering(affinity="nearest_neighbors") makes
// it: [N,P,cols]. The connectivity C has C_pq = 1 for the min(10, P) rows q
// nearest to p (p itself included; equal distances: the lowest rows), the
// affinity is A = (C + Cᵀ)/2 with its diagonal ignored (as
// scipy.sparse.csgraph.laplacian), L = I − D^-½ A D^-½ with D the degrees,
// and the embedding is the eigenvectors of the cols smallest eigenvalues of
// L, each row divided by √degree (sklearn's embedding / dd). Eigenvectors
// are unique only up to sign (and rotation within a repeated eigenvalue),
// which changes no distance between rows.
func spectralEmbedding(o *Ops, x tf.Output, cols int) tf.Output {
	p := int(x.Shape().Size(1))
	_, nearest := op.TopKV2(o.Scope(), op.Neg(o.Scope(), pairwiseSqDistances(o, x)), constant(o.s, int32(min(10, p)))) // [N,P,k]
	conn := op.Sum(o.Scope(), op.OneHot(o.Scope(), nearest, constant(o.s, int32(p)), o.Const(1), o.Const(0)), constant(o.s, int32(2)))
	ones := op.Fill(o.Scope(), constant(o.s, []int32{int32(p), int32(p)}), o.Const(1))
	zeroI := constant(o.s, int64(0))
	id := op.MatrixBandPart(o.Scope(), ones, zeroI, zeroI) // I [P,P]
	aff := o.Mul(o.Mul(o.Const(0.5), o.Add(conn, op.Transpose(o.Scope(), conn, constant(o.s, []int32{0, 2, 1})))), o.Sub(o.Const(1), id))
	deg := op.Sum(o.Scope(), aff, constant(o.s, int32(2)), op.SumKeepDims(true)) // [N,P,1]
	dd := op.Sqrt(o.Scope(), o.Where(op.Greater(o.Scope(), deg, o.Const(0)), deg, o.Add(op.ZerosLike(o.Scope(), deg), o.Const(1))))
	lap := o.Sub(id, op.Div(o.Scope(), aff, o.Mul(dd, op.Transpose(o.Scope(), dd, constant(o.s, []int32{0, 2, 1})))))
	_, vec := op.SelfAdjointEigV2(o.Scope(), lap) // ascending eigenvalues
	emb := op.Slice(o.Scope(), vec, constant(o.s, []int32{0, 0, 0}), constant(o.s, []int32{-1, -1, int32(cols)}))
	return op.Div(o.Scope(), emb, dd)
}
