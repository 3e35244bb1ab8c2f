package evaluate

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/internal/graphops"
	"github.com/tfcam/tfcam/tfgraph"
)

// evaluatorCount names each Evaluator's ops uniquely within the process.
var evaluatorCount atomic.Int64

// Baseline is what deleted pixels become, and what insertion starts from.
type Baseline string

const (
	// Zero is the value 0 in the model's input space (after preprocessing):
	// black for unit/raw inputs, mid-grey for tf's [-1,1], the dataset mean
	// for caffe/torch. It is Xplique's baseline_mode=0.0 and RISE's deletion
	// baseline.
	Zero Baseline = "zero"
	// Blur is a Gaussian-blurred copy of the image (RISE's insertion
	// baseline), blurred in the graph with reflected borders.
	Blur Baseline = "blur"
	// Mean is the image's own per-channel mean.
	Mean Baseline = "mean"
)

// ParseBaseline parses zero, blur or mean.
func ParseBaseline(s string) (Baseline, error) {
	switch b := Baseline(strings.ToLower(strings.TrimSpace(s))); b {
	case Zero, Blur, Mean:
		return b, nil
	case "":
		return Zero, nil
	}
	return "", fmt.Errorf("evaluate: unknown baseline %q (known: zero, blur, mean)", s)
}

// Config chooses how the model-run metrics perturb images. The zero value
// is 16 steps over a zero baseline.
type Config struct {
	// Steps is the number of deletion/insertion steps; curves have Steps+1
	// points, at the pixel counts of Counts (default 16).
	Steps int
	// Baseline is what removed pixels become (default Zero).
	Baseline Baseline
	// BlurSigma is the Gaussian's σ in input pixels for the Blur baseline
	// (default: 10 px per 224 px of the input's shorter side).
	BlurSigma float64
	// RunImages caps the perturbed images per Session.Run (default 128):
	// images, and when one image's steps exceed it its steps, are chunked.
	RunImages int
}

// Faithfulness is one image's model-run results for one map. Scores are
// probabilities of Class.
type Faithfulness struct {
	// Class is the explained class.
	Class int `json:"class"`
	// Base is Y: the probability on the image itself.
	Base float64 `json:"base"`
	// Masked is O: the probability on the image multiplied by its map
	// (blended towards the baseline by 1−map; for Zero exactly image·map).
	Masked float64 `json:"masked"`
	// Deletion and Insertion are the probabilities after each step, at the
	// pixel counts Counts(h·w, Steps): Deletion[0] is the image, Insertion[0]
	// the baseline.
	Deletion  []float64 `json:"deletion"`
	Insertion []float64 `json:"insertion"`
}

// Evaluator runs the perturbation metrics for one model. Its graph is built
// once in New; Run is a few Session.Runs per batch. Not safe for concurrent
// use.
type Evaluator struct {
	model   *tfgraph.Model
	cfg     Config
	h, w, c int
	classes int
	counts  []int
	// Fed: the model input (images), maps [B,H,W], classes [B], the pixel
	// counts of this run's steps [S], and the class of each perturbed row.
	x, maps, cls, steps, rowCls tf.Output
	base                        tf.Output // [B] probability on the image
	scores                      tf.Output // [2·B·S + B] deletion, insertion, masked rows
}

// New builds the evaluation graph on model's inlined forward pass (shared
// with any explainer of the same model).
func New(model *tfgraph.Model, cfg Config) (*Evaluator, error) {
	if cfg.Steps == 0 {
		cfg.Steps = 16
	}
	if cfg.RunImages == 0 {
		cfg.RunImages = 128
	}
	if cfg.Baseline == "" {
		cfg.Baseline = Zero
	}
	if _, err := ParseBaseline(string(cfg.Baseline)); err != nil {
		return nil, err
	}
	if cfg.Steps < 1 || cfg.RunImages < 4 || cfg.BlurSigma < 0 {
		return nil, fmt.Errorf("evaluate: need steps >= 1 (have %d), images per run >= 4 (have %d) and blur sigma >= 0 (have %g)", cfg.Steps, cfg.RunImages, cfg.BlurSigma)
	}
	h, w, c := model.InputSize()
	if h <= 0 || w <= 0 || c <= 0 {
		return nil, fmt.Errorf("evaluate: %s has input %v; need a fixed [N,H,W,C] image input", model.Dir, model.Input.Shape)
	}
	if cfg.Steps > h*w {
		return nil, fmt.Errorf("evaluate: %d steps for %d pixels; use at most one step per pixel", cfg.Steps, h*w)
	}
	if cfg.BlurSigma == 0 {
		cfg.BlurSigma = 10 * float64(min(h, w)) / 224
	}
	fw, err := model.Inline()
	if err != nil {
		return nil, err
	}
	e := &Evaluator{model: model, cfg: cfg, h: h, w: w, c: c, counts: Counts(h*w, cfg.Steps), x: fw.Input}
	if _, e.classes, err = fw.Scores(tfgraph.Probabilities); err != nil {
		return nil, err
	}
	g := graphops.New(op.NewScopeWithGraph(model.Graph).SubScope(fmt.Sprintf("tfcam_evaluate_%d", evaluatorCount.Add(1))))
	e.maps = op.Placeholder(g.SubScope("maps"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, int64(h), int64(w))))
	e.cls = op.Placeholder(g.SubScope("classes"), tf.Int32, op.PlaceholderShape(tf.MakeShape(-1)))
	e.steps = op.Placeholder(g.SubScope("steps"), tf.Int32, op.PlaceholderShape(tf.MakeShape(-1)))
	e.rowCls = op.Placeholder(g.SubScope("row_classes"), tf.Int32, op.PlaceholderShape(tf.MakeShape(-1)))
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("evaluate: building the placeholders: %w", err)
	}
	perturbed := e.perturb(g, e.baseline(g))
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("evaluate: building the perturbations: %w", err)
	}
	cp, err := fw.Copy(map[tf.Output]tf.Output{fw.Input: perturbed})
	if err != nil {
		return nil, err
	}
	twin, err := cp.Twin(fw.Output)
	if err != nil {
		return nil, err
	}
	_, act := fw.Logits()
	probs := func(out tf.Output) tf.Output {
		if out.DataType() != tf.Float { // mixed precision: metrics in float32
			out = op.Cast(g.SubScope("float32"), out, tf.Float)
		}
		if act == "" { // a logits model: its softmax is what the metrics read
			return op.Softmax(g.SubScope("softmax"), out)
		}
		return out
	}
	e.base = g.Pick(probs(fw.Output), e.cls, e.classes)
	e.scores = g.Pick(probs(twin), e.rowCls, e.classes)
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("evaluate: building the scores: %w", err)
	}
	return e, nil
}

// Counts returns the pixel counts of the evaluator's steps.
func (e *Evaluator) Counts() []int { return append([]int(nil), e.counts...) }

// Steps is the configured number of steps.
func (e *Evaluator) Steps() int { return e.cfg.Steps }

// Config is the configuration in use, defaults filled in.
func (e *Evaluator) Config() Config { return e.cfg }

// baseline is the [B,H,W,C] image removed pixels become.
func (e *Evaluator) baseline(g *graphops.Ops) tf.Output {
	switch e.cfg.Baseline {
	case Mean:
		m := op.Mean(g.SubScope("mean"), e.x, g.Ints(1, 2), op.MeanKeepDims(true))
		return op.AddV2(g.SubScope("mean_fill"), op.ZerosLike(g.SubScope("zeros"), e.x), m)
	case Blur:
		return e.blur(g)
	}
	return op.ZerosLike(g.SubScope("zeros"), e.x)
}

// blur is a separable Gaussian (radius 3σ, reflected borders) per channel.
func (e *Evaluator) blur(g *graphops.Ops) tf.Output {
	return graphops.New(g.SubScope("blur")).GaussianBlur(e.x, graphops.BlurRadius(e.cfg.BlurSigma), e.cfg.BlurSigma)
}

// perturb builds every image the metrics run, concatenated: for each image
// b and step s, deletion rows (b·S+s), insertion rows (B·S + b·S+s), then
// the masked image of each b (2·B·S + b).
func (e *Evaluator) perturb(g *graphops.Ops, base tf.Output) tf.Output {
	hw := e.h * e.w
	flat := op.Reshape(g.SubScope("flat"), e.maps, g.Ints(-1, hw))
	// Exact ranks, most important first: TopK orders equal values by index
	// (lower first), and the ranks are the inverse of that permutation,
	// which is the ascending order of the permutation itself.
	_, order := op.TopKV2(g.SubScope("order"), flat, g.Ints(hw))
	_, rank := op.TopKV2(g.SubScope("rank"), op.Neg(g.SubScope("neg"), op.Cast(g.SubScope("cast"), order, tf.Float)), g.Ints(hw))
	// changed[b,s,p] = rank[b,p] < count[s], as [B,S,H,W,1] against
	// images [B,1,H,W,C]; pixels are swapped exactly (a select, not a blend).
	changed := op.Less(g.SubScope("less"), op.ExpandDims(g.SubScope("rank_s"), rank, g.Ints(1)), op.Reshape(g.SubScope("count_s"), e.steps, g.Ints(1, -1, 1)))
	bs := op.Slice(g.SubScope("bs"), op.Shape(g.SubScope("shape"), changed, op.ShapeOutType(tf.Int32)), g.Constant([]int32{0}), g.Constant([]int32{2}))
	changed = op.Reshape(g.SubScope("changed5"), changed, op.ConcatV2(g.SubScope("shape5"), []tf.Output{bs, g.Ints(e.h, e.w, 1)}, g.Ints(0)))
	x5 := op.ExpandDims(g.SubScope("x5"), e.x, g.Ints(1))
	b5 := op.ExpandDims(g.SubScope("b5"), base, g.Ints(1))
	img := g.Ints(-1, e.h, e.w, e.c)
	del := op.Reshape(g.SubScope("del"), g.WhereBroadcast(changed, b5, x5), img)
	ins := op.Reshape(g.SubScope("ins"), g.WhereBroadcast(changed, x5, b5), img)
	// The masked image keeps each pixel in proportion to its map value.
	m4 := op.ExpandDims(g.SubScope("m4"), e.maps, g.Ints(3))
	masked := op.AddV2(g.SubScope("masked"), base, op.Mul(g.SubScope("masked_mul"), m4, op.Sub(g.SubScope("masked_sub"), e.x, base)))
	return op.ConcatV2(g.SubScope("all"), []tf.Output{del, ins, masked}, g.Ints(0))
}

// Run computes the faithfulness results of n images for one map each:
// pixels is [n,H,W,C] preprocessed as the model expects, maps [n,H,W]
// normalised to [0,1] (explainer.Map.Normalized), classes the explained
// class of each image.
func (e *Evaluator) Run(ctx context.Context, pixels, maps []float32, classes []int) ([]Faithfulness, error) {
	n := len(classes)
	hw, chw := e.h*e.w, e.h*e.w*e.c
	if n == 0 || len(pixels) != n*chw || len(maps) != n*hw {
		return nil, fmt.Errorf("evaluate: %d images of %d values and %d maps of %d values for %d classes; want %d×%dx%dx%d pixels and %d×%dx%d maps",
			len(pixels)/max(chw, 1), chw, len(maps)/max(hw, 1), hw, n, n, e.h, e.w, e.c, n, e.h, e.w)
	}
	for i, c := range classes {
		if c < 0 || c >= e.classes {
			return nil, fmt.Errorf("evaluate: class %d of image %d is out of range [0, %d)", c, i, e.classes)
		}
	}
	// Per image and steps chunk: 2 rows per step, the masked image and the
	// unperturbed pass.
	total := len(e.counts)
	perSteps := min(total, max(1, (e.cfg.RunImages-2)/2))
	perImages := max(1, e.cfg.RunImages/(2*perSteps+2))
	out := make([]Faithfulness, n)
	for i := range out {
		out[i] = Faithfulness{Class: classes[i], Deletion: make([]float64, total), Insertion: make([]float64, total)}
	}
	for i0 := 0; i0 < n; i0 += perImages {
		i1 := min(n, i0+perImages)
		for s0 := 0; s0 < total; s0 += perSteps {
			s1 := min(total, s0+perSteps)
			if err := e.run(ctx, pixels[i0*chw:i1*chw], maps[i0*hw:i1*hw], out[i0:i1], s0, s1); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// run evaluates images out (pixels, maps) at steps [s0,s1) in one Session.Run.
func (e *Evaluator) run(ctx context.Context, pixels, maps []float32, out []Faithfulness, s0, s1 int) error {
	b, s := len(out), s1-s0
	cls := make([]int32, b)
	rows := make([]int32, 0, 2*b*s+b)
	for i, f := range out {
		cls[i] = int32(f.Class)
	}
	for range 2 {
		for _, c := range cls {
			for range s {
				rows = append(rows, c)
			}
		}
	}
	rows = append(rows, cls...)
	counts := make([]int32, s)
	for k := range counts {
		counts[k] = int32(e.counts[s0+k])
	}
	feeds := map[tf.Output]tfgraph.Feed{
		e.x:      {F32: e.model.RoundPixels(pixels), Shape: []int64{int64(b), int64(e.h), int64(e.w), int64(e.c)}},
		e.maps:   {F32: maps, Shape: []int64{int64(b), int64(e.h), int64(e.w)}},
		e.cls:    {I32: cls, Shape: []int64{int64(b)}},
		e.steps:  {I32: counts, Shape: []int64{int64(s)}},
		e.rowCls: {I32: rows, Shape: []int64{int64(len(rows))}},
	}
	res, err := e.model.Run(ctx, feeds, []tf.Output{e.base, e.scores})
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	base, sc := res[0], res[1]
	for i := range out {
		out[i].Base = float64(base[i])
		out[i].Masked = float64(sc[2*b*s+i])
		for k := 0; k < s; k++ {
			out[i].Deletion[s0+k] = float64(sc[i*s+k])
			out[i].Insertion[s0+k] = float64(sc[b*s+i*s+k])
		}
	}
	return nil
}
