package explainer

import (
	"errors"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/tfgraph"
)

var _ = Register(Spec[DeepFeatureFactorization]{
	Name: "dff", Family: FamilyMore, Order: 190,
	Summary: "Deep Feature Factorization: NMF of the activations into concept maps, each concept labelled by the model's head (Map.Concepts)",
	Notes:   "pytorch-grad-cam's DeepFeatureFactorization with batch size 1: each image factorised on its own (pytorch-grad-cam factorises the whole batch at once), Lee–Seung multiplicative updates (scikit-learn's solver='mu') from scikit-learn's random init drawn with `--seed` instead of its coordinate descent; labels from the layers after the target on a map filled with each concept; checked against numpy and scikit-learn NMF(solver='mu'), not the library (no torch here)",
	Options: []Option{
		{Name: "concepts", Default: 5, Min: 1, Max: 64, Doc: "concepts (NMF components) per image"},
		{Name: "iterations", Default: 200, Min: 1, Max: 1000, Doc: "multiplicative-update iterations (unrolled in the graph: 14 ops each)"},
	},
	Cost: func(m DeepFeatureFactorization, _ Geometry) Cost { return Cost{TailCopies: m.Concepts} },
})

// DFF's random streams under Config.Seed: the initial W and H.
const (
	dffStreamW = 21
	dffStreamH = 22
)

// dffEpsilon replaces a multiplicative update's denominator where it is
// exactly zero: scikit-learn's EPSILON (float32's machine epsilon), which
// it substitutes the same way (denominator[denominator == 0] = EPSILON).
// Adding it everywhere instead would not be scale-free: the denominators
// of layers with activations ~1e-3 are themselves that small.
const dffEpsilon = 1.1920928955078125e-07

// DeepFeatureFactorization is pytorch-grad-cam's DeepFeatureFactorization
// (Collins et al. 2018, "Deep Feature Factorization for Concept
// Discovery"): the target layer's activations of one image, as a matrix A
// of K channels × h·w positions, are shifted per channel by their minimum
// over the positions (so that they are non-negative) and factorised by
// non-negative matrix factorisation, A − min ≈ W·H, into Concepts parts:
// H's rows [Concepts × h·w] are the concept maps, W's columns plus the
// per-channel offset the concepts' embeddings in the layer's channel
// space. Each concept is labelled by running the layers after the target
// (Context.TailScores) on an activation map filled with its embedding:
// the softmax of those logits (the probabilities as they are under
// tfgraph.Probabilities, the objective's scores under another objective),
// its top classes in Map.Concepts.Labels.
//
// The NMF minimises the Frobenius loss ‖A − W·H‖² by Lee & Seung's
// multiplicative updates, W first, then H, Iterations times (unrolled in
// the graph, no tolerance: the same number of updates for every image),
// in float64, exactly scikit-learn's solver='mu' with beta_loss='frobenius'
// and tol=0, including its guard: a denominator that is exactly zero
// becomes float32's machine epsilon. The start is scikit-learn's
// init='random' with TensorFlow's stateless normal draw from Config.Seed:
// W = s·|N(0,1)| [K×Concepts], H = s·|N(0,1)| [Concepts×h·w],
// s = √(mean(A − min)/Concepts), the same draw for every image and batch.
//
// pytorch-grad-cam factorises a whole batch at once (the batch's
// positions side by side, one W shared by its images) with scikit-learn's
// default coordinate-descent solver; tfcam factorises each image on its
// own, so an image's concepts do not depend on the batch it is in: the
// result is pytorch-grad-cam's with batch size 1, up to the solver and
// its random start. Concepts come in the factorisation's order (NMF's
// parts are unordered); none is preferred.
//
// Cost: no forward pass beyond the shared one for the maps, Iterations ×
// six small matrix products per image ([K×P]·[P×n], n = Concepts), and
// Concepts passes through the layers after the target for the labels.
// Map.Normalized is the strength of each position's strongest concept
// (the maximum over the min–max normalised concept maps); the concept maps
// themselves are in Map.Concepts. It does not depend on the explained
// class. Where the layers after the target cannot be re-run from the
// layer (a residual connection bypasses it), the concepts come without
// labels.
type DeepFeatureFactorization struct {
	// Concepts is the number of NMF components (0: the default, 5).
	Concepts int
	// Iterations is the number of multiplicative updates (0: the default, 200).
	Iterations int
}

// Name implements Method.
func (DeepFeatureFactorization) Name() string { return "dff" }

// Needs implements Method.
func (DeepFeatureFactorization) Needs() Needs { return Needs{} }

// BuildConcepts implements ConceptMethod.
func (m DeepFeatureFactorization) BuildConcepts(o *Ops, t Tensors) (ConceptMaps, error) {
	m = Resolve(m)
	n := int32(m.Concepts)
	flat, _ := o.g().Positions(t.A)                                                                    // [N,P,K]
	x := op.Transpose(o.Scope(), op.Cast(o.Scope(), flat, tf.Double), constant(o.s, []int32{0, 2, 1})) // [N,K,P]
	offset := op.Min(o.Scope(), x, constant(o.s, int32(2)), op.MinKeepDims(true))                      // [N,K,1]
	x = o.Sub(x, offset)
	w, h := nmf(o, x, n, m.Iterations, t.Ctx.Seed)
	concepts := o.Add(w, offset) // [N,K,n]

	// Concept maps [N·n,h,w].
	shape := op.Shape(o.Scope(), t.A, op.ShapeOutType(tf.Int32))
	spatial := op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{1}), constant(o.s, []int32{3}), constant(o.s, []int32{1}))
	byConcept := op.ConcatV2(o.Scope(), []tf.Output{constant(o.s, []int32{-1}), spatial}, constant(o.s, int32(0)))
	maps := op.Cast(o.Scope(), op.Reshape(o.Scope(), h, byConcept), tf.Float) // [N·n,h,w]
	if err := o.s.Err(); err != nil {
		return ConceptMaps{}, err
	}

	// Labels: the layers after the target on maps filled with each concept.
	c := t.Ctx
	vecs := op.Transpose(o.Scope(), op.Cast(o.Scope(), concepts, tf.Float), constant(o.s, []int32{2, 0, 1})) // [n,N,K]
	k := op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{3}), constant(o.s, []int32{4}), constant(o.s, []int32{1}))
	vecs = op.Reshape(o.Scope(), vecs, op.ConcatV2(o.Scope(), []tf.Output{constant(o.s, []int32{-1, 1, 1}), k}, constant(o.s, int32(0))))
	tiles := op.ConcatV2(o.Scope(), []tf.Output{constant(o.s, []int32{1}), spatial, constant(o.s, []int32{1})}, constant(o.s, int32(0)))
	filled := op.Tile(o.Scope(), vecs, tiles) // [n·N,h,w,K], copy-major
	if err := o.s.Err(); err != nil {
		return ConceptMaps{}, err
	}
	var probs tf.Output
	scores, err := c.TailScores(m, filled)
	var na *NotApplicableError
	switch {
	case errors.As(err, &na):
		// Concept maps without labels.
	case err != nil:
		return ConceptMaps{}, err
	default:
		probs = op.Transpose(o.Scope(), c.Split(o, scores, m.Concepts), constant(o.s, []int32{1, 0, 2})) // [N,n,C]
		if c.e.cfg.Objective.IsClass() && c.e.cfg.Score == tfgraph.Logits {
			probs = op.Softmax(o.Scope(), probs)
		}
	}
	c.probe("dff.w", concepts)
	return ConceptMaps{Maps: maps, Probs: probs}, nil
}

// nmf factorises each x [N,K,P] (non-negative, float64) as w [N,K,n] ·
// h [N,n,P] by iterations multiplicative updates (Lee & Seung's, for the
// Frobenius loss: W first, then H, as scikit-learn's solver='mu') from
// scikit-learn's random start drawn from seed.
func nmf(o *Ops, x tf.Output, n int32, iterations int, seed int64) (w, h tf.Output) {
	shape := op.Shape(o.Scope(), x, op.ShapeOutType(tf.Int32))
	dim := func(i int32) tf.Output {
		return op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{i}), constant(o.s, []int32{i + 1}), constant(o.s, []int32{1}))
	}
	k, p := dim(1), dim(2)
	nn := constant(o.s, []int32{n})
	draw := func(shape tf.Output, stream int64) tf.Output {
		z := op.StatelessRandomNormal(o.Scope(), shape, constant(o.s, []int64{seed, stream}))
		return op.ExpandDims(o.Scope(), op.Cast(o.Scope(), op.Abs(o.Scope(), z), tf.Double), constant(o.s, int32(0)))
	}
	// scikit-learn's init='random': √(mean(X)/n)·|N(0,1)|.
	scale := op.Sqrt(o.Scope(), op.Div(o.Scope(), op.Mean(o.Scope(), x, constant(o.s, []int32{1, 2}), op.MeanKeepDims(true)), constant(o.s, float64(n))))
	w = op.Mul(o.Scope(), scale, draw(op.ConcatV2(o.Scope(), []tf.Output{k, nn}, constant(o.s, int32(0))), dffStreamW))
	h = op.Mul(o.Scope(), scale, draw(op.ConcatV2(o.Scope(), []tf.Output{nn, p}, constant(o.s, int32(0))), dffStreamH))
	eps, zero := constant(o.s, dffEpsilon), constant(o.s, 0.0)
	guard := func(d tf.Output) tf.Output {
		return o.g().WhereBroadcast(op.Equal(o.Scope(), d, zero), eps, d)
	}
	mm := func(a, b tf.Output, adjA, adjB bool) tf.Output {
		return op.BatchMatMulV2(o.Scope(), a, b, op.BatchMatMulV2AdjX(adjA), op.BatchMatMulV2AdjY(adjB))
	}
	for range iterations {
		// W ← W ⊙ X·Hᵀ / (W·H·Hᵀ)
		w = op.Mul(o.Scope(), w, op.RealDiv(o.Scope(), mm(x, h, false, true), guard(mm(w, mm(h, h, false, true), false, false))))
		// H ← H ⊙ Wᵀ·X / (Wᵀ·W·H)
		h = op.Mul(o.Scope(), h, op.RealDiv(o.Scope(), mm(w, x, true, false), guard(mm(mm(w, w, true, false), h, false, false))))
	}
	return w, h
}

// ConceptCount implements ConceptMethod.
func (m DeepFeatureFactorization) ConceptCount() int { return Resolve(m).Concepts }
