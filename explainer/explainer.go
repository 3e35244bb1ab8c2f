package explainer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/tfgraph"
)

// explainerCount names each Explainer's ops uniquely within the process.
var explainerCount atomic.Int64

// normEps keeps min–max normalisation finite on flat maps; the same value
// as pytorch-grad-cam and tf-keras-vis.
const normEps = 1e-7

// Config chooses what an Explainer computes. The zero value (with Methods
// set) explains the top-1 class at the default layer.
type Config struct {
	// Layer is the target layer's name (see tfgraph.Forward.Layers);
	// empty means the last spatial layer before global pooling/flatten, or
	// for a transformer the token layer its last attention reads
	// (tfgraph.Forward.DefaultLayer).
	Layer string
	// Tokens says how a token layer [N,T,C] maps onto the image (prefix
	// tokens dropped, the rest a patch grid); the zero value detects it.
	// Only token layers use it.
	Tokens tfgraph.Tokens
	// Methods are the methods computed together on every batch.
	Methods []Method
	// Score is what is explained: logits (default) or probabilities.
	Score tfgraph.ScoreKind
	// Objective turns the model's output into the scores whose columns
	// are explained (a region of a segmentation output, a regression
	// output, similarity to a reference embedding, a class against
	// another; your own: see Objective); nil is the class scores (ClassScores).
	Objective Objective
	// Predictions is how many top predictions each result lists (default 5).
	Predictions int
	// Raw also fetches un-normalised maps at input resolution.
	Raw bool
	// LowRes also fetches normalised maps at the layer's resolution.
	LowRes bool
	// Seed makes the randomised methods (SmoothGrad, Smooth Grad-CAM++,
	// noise baselines, RandomCAM) reproducible; the same seed gives the same maps.
	Seed int64
	// MaxTensorElements bounds the largest activation tensor of a forward
	// pass, in values (0: DefaultMaxTensorElements, 1 GiB of float32; at
	// most TensorFlow's own limit, 2³¹−1). Batches are split into
	// Session.Runs that fit, and methods that run the model on many copies
	// of each image run those copies in sequential chunks that fit, inside
	// the run: lower it to bound memory further. It cannot go below one
	// image's largest activation.
	MaxTensorElements int64
}

// Explainer explains batches for one model, layer and set of methods. The
// graph is built once in New (and once more per new TopK count); Explain is
// one Session.Run per batch. Explain is safe for concurrent use: batches run
// in parallel in TensorFlow's session. New is not: create the Explainers of
// one model from one goroutine.
type Explainer struct {
	model  *tfgraph.Model
	fw     *tfgraph.Forward
	cfg    Config
	layer  tfgraph.Layer
	tokens *tfgraph.TokenView // nil for spatial layers
	h, w   int                // input size
	lh, lw int                // layer size (the patch grid of a token layer)
	k      int                // layer channels
	// methods are the configured methods that apply; skipped the others.
	methods []Method
	skipped []*NotApplicableError
	needs   Needs
	root    *op.Scope
	obj     *ObjectiveGraph
	scores  tf.Output // [N,classes] explained scores (the objective's S)
	rank    tf.Output // [N,classes] what top-k orders by
	// Graph tensors shared by all targets.
	predVals  tf.Output // [N,P]
	predIdx   tf.Output // [N,P]
	nClasses  int
	nPredicts int
	// Per number of explained ranks K, built on first use, under mu.
	mu  sync.Mutex
	byK map[int]*rankSet
}

// rankSet is the graph that explains the K top classes (or, for K=1, the
// fed classes).
type rankSet struct {
	classes  tf.Output     // int32 [N] placeholder; −1 (the default) is the top-1 class
	targets  []tf.Output   // [rank] int32 [N]
	selected []tf.Output   // [rank] [N] explained score
	norm     [][]tf.Output // [rank][method] [N,H,W]
	raw      [][]tf.Output
	low      [][]tf.Output
	flat     [][]tf.Output // [rank][method] [N,2]: flat (1 or 0) and zero (mapStats)
	// concepts are the concept methods' outputs, [rank][method]; nil
	// entries for the other methods.
	concepts [][]*conceptOut
	// probes are rank 0's named intermediate tensors (Context.probe).
	probes map[string]tf.Output
}

// conceptOut are a concept method's fetched tensors.
type conceptOut struct {
	n         int
	norm, low tf.Output // [N·n,H,W], [N·n,h,w] min–max normalised
	probs     tf.Output // [N,n,P] top-P probabilities (Op nil: no labels)
	classes   tf.Output // int32 [N,n,P]
}

// Targets says which classes are explained. The zero value is each image's
// top-1 class.
type Targets struct {
	classes []int
	k       int
}

// Top1 explains each image's highest-scoring class.
func Top1() Targets { return Targets{k: 1} }

// TopK explains each image's k highest-scoring classes: a map per class.
func TopK(k int) Targets { return Targets{k: k} }

// Classes explains the given class for each image of the batch, in order.
func Classes(c ...int) Targets { return Targets{classes: c, k: 1} }

// Batch is n images [n,H,W,C] as one flat float32 slice, preprocessed as the
// model expects.
type Batch struct {
	Pixels []float32
	N      int
}

// Prediction is one class and the model's output for it.
type Prediction struct {
	Class int
	Score float32
}

// Map is one method's explanation of one class for one image. Slices are
// views into the batch's fetched buffers, row-major.
type Map struct {
	// Method is the method's name.
	Method string
	// Class is the explained class; Rank its position among the image's
	// top classes (0 for explicit targets and top-1).
	Class, Rank int
	// Score is the explained score (logit or probability) of Class, or
	// column Class of the objective's scores (Config.Objective).
	Score float32
	// Normalized is the map at input resolution, min–max scaled to [0,1].
	Normalized []float32
	// Raw is the same before normalisation (when Config.Raw).
	Raw []float32
	// LowRes is the normalised map at the layer's resolution (when Config.LowRes).
	LowRes []float32
	// Flat reports a map without signal: its range is within float32
	// rounding of its magnitude (see FlatRelative), often all zeros after
	// the ReLU. Normalized is then noise or zeros, not a heatmap.
	Flat bool
	// Zero is where the raw map's 0 falls on Normalized's scale: 0 for a
	// map that is never negative (ReLU'd CAMs; exactly 0 when its minimum
	// is 0), inside (0,1) for a signed attribution (SignedMap), whose
	// values above Zero count for the target and below it against.
	Zero float32
	// Kind is what the map holds (KindOf its method), which decides how
	// it is drawn.
	Kind MapKind
	// Concepts are the parts of a method that finds several maps per
	// image (DeepFeatureFactorization); nil for every other method.
	Concepts *Concepts
}

// Concepts are the concept maps of one image and what each concept
// stands for (DeepFeatureFactorization). Slices are views into the
// batch's fetched buffers, row-major, like Map's.
type Concepts struct {
	// Maps[c] is concept c's map at input resolution, min–max scaled to
	// [0,1] (H·W values).
	Maps [][]float32
	// LowRes[c] is the same at the layer's resolution (when
	// Config.LowRes).
	LowRes [][]float32
	// Labels[c] are concept c's top classes, best first (Config.Predictions
	// of them), with the probability the model's head gives the concept;
	// nil when the layers after the target cannot be re-run from it.
	Labels [][]Prediction
}

// Result is the explanation of one image.
type Result struct {
	// Predictions are the top classes by model output, best first; under
	// a non-class Config.Objective, the objective's columns in its ranking
	// order (Region: pixel coverage) with their scores S.
	Predictions []Prediction
	// Maps holds, per explained class (rank), one Map per method in
	// Explainer.Methods order (the configured methods that apply):
	// Maps[rank][method].
	Maps [][]Map
}

// New builds the explanation graph for model: the shared part now, the
// per-target part on first use.
func New(model *tfgraph.Model, cfg Config) (*Explainer, error) {
	return NewContext(context.Background(), model, cfg)
}

// NewContext is New stopped by ctx: building the graph of a method whose
// copies run in hundreds of chunks takes tens of seconds (each chunk is a
// copy of the model), and a cancelled ctx ends it between two chunks
// with ctx's cause. The context is not kept: later graphs (more ranks,
// Explain's top-k) are built under Explain's.
func NewContext(ctx context.Context, model *tfgraph.Model, cfg Config) (*Explainer, error) {
	if len(cfg.Methods) == 0 {
		return nil, fmt.Errorf("explainer: no methods configured")
	}
	for _, m := range cfg.Methods {
		if err := Validate(m); err != nil {
			return nil, err
		}
	}
	if cfg.Predictions <= 0 {
		cfg.Predictions = 5
	}
	fw, err := model.Inline()
	if err != nil {
		return nil, err
	}
	e := &Explainer{model: model, fw: fw, cfg: cfg, byK: map[int]*rankSet{}}
	if cfg.Layer == "" {
		e.layer, err = fw.DefaultLayer()
	} else {
		e.layer, err = fw.Layer(cfg.Layer)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case tfgraph.IsTokenLayer(e.layer):
		v, err := fw.TokenView(e.layer, cfg.Tokens)
		if err != nil {
			return nil, err
		}
		e.tokens = &v
		e.lh, e.lw, e.k = v.Rows, v.Cols, int(e.layer.Shape[2])
	case !e.layer.Spatial:
		return nil, fmt.Errorf("explainer: layer %q has shape %v; class-activation maps need a spatial 4-D layer [N,H,W,C] or a token layer [N,T,C] (see `tfcam layers`)", e.layer.Name, e.layer.Shape)
	case cfg.Tokens != (tfgraph.Tokens{}):
		return nil, fmt.Errorf("explainer: token settings %+v given, but layer %q is a spatial layer %v, not a token layer [N,T,C]: %w", cfg.Tokens, e.layer.Name, e.layer.Shape, tfgraph.ErrTokenGrid)
	default:
		e.lh, e.lw, e.k = int(e.layer.Shape[1]), int(e.layer.Shape[2]), int(e.layer.Shape[3])
	}
	e.h, e.w, _ = model.InputSize()
	if e.h <= 0 || e.w <= 0 || e.lh <= 0 || e.lw <= 0 {
		return nil, fmt.Errorf("explainer: %s has open spatial sizes (input %v, layer %v); load it with an input size (tfgraph.LoadOptions.InputSize, tfcam --size)", model.Dir, model.Input.Shape, e.layer.Shape)
	}
	for _, m := range cfg.Methods {
		n := m.Needs()
		e.needs.LayerGrad = e.needs.LayerGrad || n.LayerGrad
		e.needs.GuidedInputGrad = e.needs.GuidedInputGrad || n.GuidedInputGrad
	}
	e.root = op.NewScopeWithGraph(model.Graph).SubScope(fmt.Sprintf("tfcam_explain_%d", explainerCount.Add(1)))
	if cfg.Objective == nil {
		cfg.Objective = ClassScores()
		e.cfg.Objective = cfg.Objective
	}
	if e.obj, err = buildObjective(cfg.Objective, e); err != nil {
		return nil, err
	}
	e.nClasses = e.obj.Cols
	if cfg.Objective.IsClass() {
		// Unchanged graphs for class scores: the inlined tensor itself.
		e.scores, e.rank = e.obj.Base, e.obj.Base
	} else {
		so := &Ops{s: e.root.SubScope("objective_scores")}
		e.scores = e.obj.Scores(so, e.obj.Base, e.obj.Param)
		if e.obj.Reach && e.obj.Base != fw.Output {
			e.scores = so.Add(e.scores, so.Mul(so.Const(0), op.Sum(so.Scope(), e.float32Of(fw.Output), constant(so.s, []int32{1, 2}))))
		}
		e.rank = e.obj.Rank(so, e.scores)
		// graft panics on outputs of failed ops: check before using them.
		if err := e.root.Err(); err != nil {
			return nil, fmt.Errorf("explainer: building target %s: %w", cfg.Objective, err)
		}
	}
	e.nPredicts = min(cfg.Predictions, e.nClasses)
	o := &Ops{s: e.root.SubScope("predictions")}
	if cfg.Objective.IsClass() {
		e.predVals, e.predIdx = op.TopKV2(o.Scope(), e.float32Of(fw.Output), constant(o.s, int32(e.nPredicts)))
	} else {
		// In the objective's order, each with its score S.
		_, e.predIdx = op.TopKV2(o.Scope(), e.float32Of(e.rank), constant(o.s, int32(e.nPredicts)))
		onehot := op.OneHot(o.Scope(), e.predIdx, constant(o.s, int32(e.nClasses)), o.Const(1), o.Const(0)) // [N,P,C']
		e.predVals = op.Sum(o.Scope(), o.Mul(op.ExpandDims(o.Scope(), e.scores, constant(o.s, int32(1))), onehot), constant(o.s, int32(2)))
	}
	if err := e.root.Err(); err != nil {
		return nil, fmt.Errorf("explainer: building the predictions: %w", err)
	}
	e.methods = cfg.Methods
	if err := e.checkChunks(e.methods); err != nil {
		return nil, err
	}
	if _, err := e.ranks(ctx, 1); err != nil {
		return nil, err
	}
	return e, nil
}

// Skipped lists the configured methods that do not apply to this model and
// layer (with why); Methods holds the others.
func (e *Explainer) Skipped() []*NotApplicableError { return e.skipped }

// TokenView is how the target token layer is viewed as a patch grid, and
// false for a spatial layer.
func (e *Explainer) TokenView() (tfgraph.TokenView, bool) {
	if e.tokens == nil {
		return tfgraph.TokenView{}, false
	}
	return *e.tokens, true
}

// Layer is the target layer.
func (e *Explainer) Layer() tfgraph.Layer { return e.layer }

// Classes is the number of classes the model scores: the objective's
// columns (Config.Objective), 2 for a regression target, 1 for an
// embedding target.
func (e *Explainer) Classes() int { return e.nClasses }

// Objective is the configured objective.
func (e *Explainer) Objective() Objective { return e.cfg.Objective }

// Config is the explainer's configuration, defaults filled in (the
// objective, the layer as resolved is Layer).
func (e *Explainer) Config() Config { return e.cfg }

// LayerSize is the target layer's spatial size (the LowRes map size).
func (e *Explainer) LayerSize() (h, w int) { return e.lh, e.lw }

// InputSize is the model's input size (the map size).
func (e *Explainer) InputSize() (h, w int) { return e.h, e.w }

// Methods are the configured methods that apply to the model, in
// Config.Methods order: the order of each Result's maps.
func (e *Explainer) Methods() []Method { return e.methods }

func (e *Explainer) upsample(m tf.Output) tf.Output {
	o := &Ops{s: e.root.SubScope("upsample")}
	img := op.ExpandDims(o.Scope(), m, constant(o.s, int32(3)))
	up := op.ResizeBilinear(o.Scope(), img, constant(o.s, []int32{int32(e.h), int32(e.w)}), op.ResizeBilinearHalfPixelCenters(true))
	return op.Squeeze(o.Scope(), up, op.SqueezeAxis([]int64{3}))
}

func (e *Explainer) normalise(m tf.Output) tf.Output {
	o := &Ops{s: e.root.SubScope("normalise")}
	return o.g().MinMax(m, normEps)
}

// ranks returns (building once) the graph explaining the top k classes;
// a cancelled ctx stops the building between two chunks of copies.
func (e *Explainer) ranks(ctx context.Context, k int) (*rankSet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if rs, ok := e.byK[k]; ok {
		return rs, nil
	}
	if k < 1 || k > e.nClasses {
		if !e.cfg.Objective.IsClass() {
			return nil, fmt.Errorf("explainer: top-%d asked but target %s of %s has %d columns", k, e.cfg.Objective, e.model.Dir, e.nClasses)
		}
		return nil, fmt.Errorf("explainer: top-%d asked but %s has %d classes", k, e.model.Dir, e.nClasses)
	}
	root := e.root.SubScope(fmt.Sprintf("top%d", k))
	o := &Ops{s: root}
	_, topIdx := op.TopKV2(o.Scope(), e.float32Of(e.rank), constant(o.s, int32(k)))
	rank := func(r int) tf.Output {
		return op.StridedSlice(o.Scope(), topIdx, constant(o.s, []int32{0, int32(r)}), constant(o.s, []int32{0, int32(r + 1)}), constant(o.s, []int32{1, 1}),
			op.StridedSliceBeginMask(1), op.StridedSliceEndMask(1), op.StridedSliceShrinkAxisMask(2))
	}
	rs := &rankSet{probes: map[string]tf.Output{}}
	// Rank 0's class can be fed, per image; −1 (the default) is the
	// image's top-1 class.
	top1 := rank(0)
	rs.classes = op.PlaceholderWithDefault(root.SubScope("classes"),
		op.Fill(o.Scope(), op.Shape(o.Scope(), top1, op.ShapeOutType(tf.Int32)), constant(o.s, int32(-1))), tf.MakeShape(-1))
	chosen := op.Select(o.Scope(), op.Less(o.Scope(), rs.classes, constant(o.s, int32(0))), top1, rs.classes)
	// graft panics on outputs of failed ops: check before using them.
	if err := root.Err(); err != nil {
		return nil, fmt.Errorf("explainer: building the target selection: %w", err)
	}
	fw := e.fw
	for r := 0; r < k; r++ {
		targets := chosen
		if r > 0 {
			targets = rank(r)
		}
		sc := fw.SelectScore(e.scores, targets, e.nClasses)
		t := Tensors{A: e.toGrid(e.float32Of(e.layer.Output)), Upsample: e.upsample,
			Ctx: &Context{e: e, Input: fw.Input, Targets: targets, Selected: sc.Selected, Seed: e.cfg.Seed, building: ctx}}
		if r == 0 {
			t.Ctx.probes = rs.probes
		}
		if e.needs.LayerGrad {
			grads, err := fw.Gradients(sc, e.layer.Output)
			if err != nil {
				return nil, err
			}
			t.G = e.toGrid(e.float32Of(grads[0]))
		}
		if e.needs.GuidedInputGrad {
			g, err := fw.GuidedGradients(sc, fw.Input)
			if err != nil {
				return nil, err
			}
			t.Guided = e.float32Of(g[0])
		}
		var norms, raws, lows, flats []tf.Output
		var concepts []*conceptOut
		var applied []Method
		var built []builtCopies
		for _, m := range e.methods {
			mo := &Ops{s: root.SubScope(sanitize(m.Name()))}
			mt := t
			ctx := *t.Ctx
			ctx.chunks = e.chunks(m)
			var copies []copyRecord
			if k == 1 && r == 0 {
				ctx.copies = &copies
			}
			mt.Ctx = &ctx
			mp, cg, nc, err := buildMap(m, mo, mt, false)
			var na *NotApplicableError
			if errors.As(err, &na) && k == 1 {
				// Found while New builds the first graph: leave the
				// method out, the others still run.
				e.skipped = append(e.skipped, na)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("explainer: %s: %w", m.Name(), err)
			}
			if err := root.Err(); err != nil {
				return nil, fmt.Errorf("explainer: building %s: %w", m.Name(), err)
			}
			if !isSigned(m) {
				mp = mo.Relu(mp)
			}
			raw, low := mp, tf.Output{}
			if !inputResolution(m) {
				raw, low = e.upsample(mp), e.normalise(mp)
			}
			norm := e.normalise(raw)
			if low.Op == nil {
				low = norm
			}
			raws = append(raws, raw)
			norms = append(norms, norm)
			lows = append(lows, low)
			flats = append(flats, e.mapStats(raw))
			concepts = append(concepts, e.conceptOutputs(cg, nc))
			applied = append(applied, m)
			if len(copies) > 0 {
				built = append(built, builtCopies{m, copies})
			}
		}
		if err := e.checkCosts(built); err != nil {
			return nil, err
		}
		if r == 0 && len(applied) < len(e.methods) {
			if len(applied) == 0 {
				return nil, fmt.Errorf("explainer: no configured method applies to %s at layer %q: %w", e.model.Dir, e.layer.Name, errors.Join(asErrors(e.skipped)...))
			}
			e.methods = applied
		}
		rs.targets = append(rs.targets, targets)
		rs.selected = append(rs.selected, sc.Selected)
		rs.norm = append(rs.norm, norms)
		rs.raw = append(rs.raw, raws)
		rs.low = append(rs.low, lows)
		rs.flat = append(rs.flat, flats)
		rs.concepts = append(rs.concepts, concepts)
	}
	if err := root.Err(); err != nil {
		return nil, fmt.Errorf("explainer: building the graph: %w", err)
	}
	e.byK[k] = rs
	return rs, nil
}

func sanitize(name string) string {
	out := []rune{}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			out = append(out, r)
		case r == '+':
			out = append(out, 'p')
		default:
			out = append(out, '_')
		}
	}
	return string(out)
}

// Explain explains one batch for the given targets in one Session.Run:
// forward pass, gradients, every method's map, upsampling, normalisation.
// Only methods that run the model on hundreds of copies of each image
// (Score-CAM on wide layers) may split a batch into several runs, to keep
// every tensor within what TensorFlow's kernels can index.
func (e *Explainer) Explain(ctx context.Context, batch Batch, targets Targets) ([]Result, error) {
	return e.ExplainWithWeights(ctx, batch, targets, nil)
}

// ExplainWithWeights is Explain with model weights replaced for this
// batch's runs: weights are values fed for the variables' reads
// (tfgraph.Variable.Reads), which the forward pass and every copy of it
// read (Score-CAM's masked images too). The session's variables are not
// touched, so other batches, Explainers and servers sharing the session
// are unaffected. Sanity checks (evaluate.Sanity) explain with randomised
// weights this way.
func (e *Explainer) ExplainWithWeights(ctx context.Context, batch Batch, targets Targets, weights map[tf.Output]tfgraph.Feed) ([]Result, error) {
	h, w, c := e.model.InputSize()
	n := batch.N
	if n <= 0 || len(batch.Pixels) != n*h*w*c {
		return nil, fmt.Errorf("explainer: batch of %d values is not %d images of %dx%dx%d", len(batch.Pixels), n, h, w, c)
	}
	if targets.classes != nil && len(targets.classes) != n {
		return nil, fmt.Errorf("explainer: %d target classes for a batch of %d images", len(targets.classes), n)
	}
	per, err := e.imagesPerRun(n)
	if err != nil {
		return nil, err
	}
	if per >= n {
		return e.explainRun(ctx, batch, targets, weights)
	}
	var results []Result
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		sub := Targets{k: targets.k}
		if targets.classes != nil {
			sub.classes = targets.classes[start:end]
		}
		res, err := e.explainRun(ctx, Batch{Pixels: batch.Pixels[start*h*w*c : end*h*w*c], N: end - start}, sub, weights)
		if err != nil {
			return nil, err
		}
		results = append(results, res...)
	}
	return results, nil
}

// explainRun is one Session.Run over a batch, weights fed (nil: none).
func (e *Explainer) explainRun(ctx context.Context, batch Batch, targets Targets, weights map[tf.Output]tfgraph.Feed) ([]Result, error) {
	h, w, c := e.model.InputSize()
	n := batch.N
	k := max(targets.k, 1)
	if targets.classes != nil && k != 1 {
		return nil, fmt.Errorf("explainer: explicit classes and top-%d are exclusive", k)
	}
	rs, err := e.ranks(ctx, k)
	if err != nil {
		return nil, err
	}
	feeds := make(map[tf.Output]tfgraph.Feed, len(weights)+2)
	for t, f := range weights {
		feeds[t] = f
	}
	feeds[e.fw.Input] = tfgraph.Feed{F32: e.model.RoundPixels(batch.Pixels), Shape: []int64{int64(n), int64(h), int64(w), int64(c)}}
	if targets.classes != nil {
		if len(targets.classes) != n {
			return nil, fmt.Errorf("explainer: %d target classes for a batch of %d images", len(targets.classes), n)
		}
		ids := make([]int32, n)
		for i, cl := range targets.classes {
			if cl < 0 || cl >= e.nClasses {
				return nil, fmt.Errorf("explainer: target class %d of image %d is out of range [0, %d)", cl, i, e.nClasses)
			}
			ids[i] = int32(cl)
		}
		feeds[rs.classes] = tfgraph.Feed{I32: ids, Shape: []int64{int64(n)}}
	}
	floats := []tf.Output{e.predVals}
	for r := range rs.norm {
		floats = append(floats, rs.selected[r])
		floats = append(floats, rs.norm[r]...)
		floats = append(floats, rs.flat[r]...)
		if e.cfg.Raw {
			floats = append(floats, rs.raw[r]...)
		}
		if e.cfg.LowRes {
			floats = append(floats, rs.low[r]...)
		}
	}
	ints := append([]tf.Output{e.predIdx}, rs.targets...)
	nFloats, nInts := len(floats), len(ints)
	cf, ci := e.conceptFetches(rs)
	floats, ints = append(floats, cf...), append(ints, ci...)
	out, ids, err := e.model.RunMixed(ctx, feeds, floats, ints)
	if err != nil {
		return nil, err
	}
	P := e.nPredicts
	results := make([]Result, n)
	for i := range results {
		for p := 0; p < P; p++ {
			results[i].Predictions = append(results[i].Predictions, Prediction{Class: int(ids[0][i*P+p]), Score: out[0][i*P+p]})
		}
	}
	next := 1
	take := func(count int) [][]float32 {
		s := out[next : next+count]
		next += count
		return s
	}
	hw, lhw := h*w, e.lh*e.lw
	nm := len(e.methods)
	for r := range rs.norm {
		selected := take(1)[0]
		norm := take(nm)
		flat := take(nm)
		var raw, low [][]float32
		if e.cfg.Raw {
			raw = take(nm)
		}
		if e.cfg.LowRes {
			low = take(nm)
		}
		for i := range results {
			maps := make([]Map, nm)
			for j, m := range e.methods {
				mp := Map{Method: m.Name(), Rank: r, Class: int(ids[1+r][i]), Score: selected[i],
					Normalized: norm[j][i*hw : (i+1)*hw], Flat: flat[j][2*i] != 0, Zero: flat[j][2*i+1], Kind: KindOf(m)}
				if raw != nil {
					mp.Raw = raw[j][i*hw : (i+1)*hw]
				}
				if low != nil {
					size := lhw
					if inputResolution(m) {
						size = hw
					}
					mp.LowRes = low[j][i*size : (i+1)*size]
				}
				maps[j] = mp
			}
			results[i].Maps = append(results[i].Maps, maps)
		}
	}
	e.takeConcepts(rs, results, out[nFloats:], ids[nInts:])
	return results, nil
}
