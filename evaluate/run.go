package evaluate

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tfcam/tfcam/engine"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/tfgraph"
	"github.com/tfcam/tfcam/tfimage"
)

// RunConfig is what NewRun evaluates and how: `tfcam eval`'s settings.
// Zero values are the command's defaults where one exists.
type RunConfig struct {
	// Model is the model Explainer explains; Decoder decodes files into
	// its inputs (with views of at most ExampleSize pixels for the
	// report's example maps, else none).
	Model     *tfgraph.Model
	Explainer *explainer.Explainer
	Decoder   *tfimage.Decoder
	// Images are the inputs, in the order the report lists them.
	Images []inputs.Input
	// Boxes are each image's boxes by input path (MatchBoxes): the
	// pointing games; nil: none.
	Boxes map[string][]Box
	// TopK1 explains each image's top class; otherwise Class is explained.
	TopK1 bool
	Class int
	// Metrics configures the perturbation metrics (Evaluator), run only
	// under a class objective.
	Metrics Config
	// Tolerance is the pointing game's margin in pixels at 224 px
	// (ToleranceAt224 is the paper's), scaled to the model's input.
	Tolerance float64
	// ROAD's percentages (nil: no ROAD) and noise.
	ROAD      []float64
	ROADNoise float64
	// Sanity checks (none when neither test is on), on the first
	// SanityImages images (0: all).
	Sanity       SanityConfig
	SanityImages int
	// Sensitivity: Samples 0 is off.
	Sensitivity SensitivityConfig
	// Seed seeds ROAD's, max-sensitivity's and the sanity checks' draws.
	Seed uint64
	// Examples: keep the report's example maps (ExampleImages images),
	// their classes named by Label (nil: "class 285") and the images'
	// Boxes drawn on them.
	Examples bool
	Label    func(class int) string
	// Batch images per graph run (default 16) and Workers decoding (1).
	Batch, Workers int
	// Progress, when not nil, is told about every image.
	Progress engine.Progress
	// StopGrace: how long a graph run in flight may go on once the run's
	// context is cancelled before it is aborted (engine.Engine.StopGrace).
	StopGrace time.Duration
	// MethodSpec and BoxesName are recorded in the report's settings.
	MethodSpec, BoxesName string
}

// Run is one evaluation, set up by NewRun and run by Do.
type Run struct {
	cfg      RunConfig
	job      *Job
	ev       *Evaluator
	road     *ROAD
	sanity   *Sanity
	sanImgs  int
	tolPx    float64
	channels int
}

// NewRun builds the evaluators cfg asks for on its model.
func NewRun(ctx context.Context, cfg RunConfig) (*Run, error) {
	e, m := cfg.Explainer, cfg.Model
	r := &Run{cfg: cfg}
	var err error
	if e.Objective().IsClass() {
		if r.ev, err = New(m, cfg.Metrics); err != nil {
			return nil, err
		}
	}
	if cfg.ROAD != nil {
		if r.road, err = NewROAD(m, ROADConfig{Percentages: cfg.ROAD, Noise: cfg.ROADNoise, Seed: cfg.Seed, RunImages: cfg.Metrics.RunImages}); err != nil {
			return nil, err
		}
	}
	if cfg.Sanity.Params || cfg.Sanity.Logit {
		sc := cfg.Sanity
		sc.Seed = cfg.Seed
		if r.sanity, err = NewSanity(ctx, m, e.Classes(), sc); err != nil {
			return nil, err
		}
	}
	r.sanImgs = len(cfg.Images)
	if cfg.SanityImages > 0 {
		r.sanImgs = min(cfg.SanityImages, len(cfg.Images))
	}
	h, w := e.InputSize()
	_, _, r.channels = m.InputSize()
	r.tolPx = ScaleTolerance(cfg.Tolerance, w, h)
	class := cfg.Class
	if cfg.TopK1 {
		class = -1
	}
	r.job = &Job{Explainer: e, Evaluator: r.ev, ROAD: r.road, Sanity: r.sanity, SanityImages: r.sanImgs, Class: class,
		Boxes: cfg.Boxes, Tolerance: r.tolPx, Sensitivity: cfg.Sensitivity, Channels: r.channels}
	r.job.Sensitivity.Seed = cfg.Seed
	if cfg.Examples {
		r.job.ExampleImages, r.job.Label = ExampleImages, cfg.Label
	}
	return r, nil
}

// Perturbs reports whether the perturbation metrics run (a class
// objective).
func (r *Run) Perturbs() bool { return r.ev != nil }

// Sanity is the run's sanity checks, nil without them; SanityImages how
// many images they run on.
func (r *Run) Sanity() *Sanity   { return r.sanity }
func (r *Run) SanityImages() int { return r.sanImgs }

// Examples are the report's example maps (RunConfig.Examples), after Do.
func (r *Run) Examples() []Example { return r.job.Examples() }

// Do explains and scores every image (a failed one is counted in the
// summary and left out) and returns the report of those that were
// scored; nil when none was or the run was interrupted.
func (r *Run) Do(ctx context.Context) (*Report, engine.Summary, error) {
	cfg := r.cfg
	e := cfg.Explainer
	eng := &engine.Engine{Decoder: cfg.Decoder, Batch: cmpOr(cfg.Batch, 16), Workers: cmpOr(cfg.Workers, 1), MaxBytes: 256 << 20, Progress: cfg.Progress, StopGrace: cfg.StopGrace}
	sum, err := eng.Run(ctx, slices.Values(cfg.Images), r.job)
	if err != nil || sum.Interrupted {
		return nil, sum, err
	}
	results := r.job.Results()
	if len(results) == 0 {
		return nil, sum, nil
	}
	var names []string
	for _, mt := range e.Methods() {
		names = append(names, mt.Name())
	}
	class := "top1"
	if !cfg.TopK1 {
		class = strconv.Itoa(cfg.Class)
	}
	rep := &Report{
		Settings: Settings{Model: cfg.Model.Dir, Layer: e.Layer().Name, Class: class, Tolerance: r.tolPx, Boxes: cfg.BoxesName, MethodSpec: cfg.MethodSpec},
		Methods:  Summarize(names, results), Images: results,
	}
	if r.ev != nil {
		c := r.ev.Config()
		rep.Settings.Steps, rep.Settings.Baseline = c.Steps, string(c.Baseline)
		rep.Fractions, rep.Counts = Fractions(c.Steps), r.ev.Counts()
		if c.Baseline == Blur {
			rep.Settings.BlurSigma = c.BlurSigma
		}
	} else {
		rep.Settings.Target = e.Objective().String()
	}
	for i, mt := range e.Methods() {
		cost := e.Cost(mt)
		rep.Methods[i].Passes = 1 + cost.Copies + cost.TailCopies
	}
	if n := cfg.Sensitivity.Samples; n > 0 {
		rep.Settings.SensitivitySamples, rep.Settings.SensitivityRadius = n, cfg.Sensitivity.Radius
	}
	if r.road != nil || cfg.Sensitivity.Samples > 0 || r.sanity != nil {
		rep.Settings.Seed = cfg.Seed
	}
	if r.sanity != nil {
		rep.Settings.SanityImages = r.sanImgs
		if cfg.Sanity.Params {
			rep.Settings.SanityLayers, rep.Settings.SanityCuts = r.sanity.Layers(), r.sanity.Cuts()
		}
	}
	if r.road != nil {
		rep.Settings.ROADPercentages, rep.Settings.ROADNoise = cfg.ROAD, cfg.ROADNoise
		for i := range rep.Methods {
			rep.Methods[i].ROAD = SummarizeROAD(cfg.ROAD, rep.Methods[i].Method, results)
		}
	}
	return rep, sum, nil
}

// String describes the run's set-up as `tfcam eval` starts.
func (r *Run) String() string {
	if r.ev == nil {
		return "no perturbation metrics"
	}
	c := r.ev.Config()
	return fmt.Sprintf("%d steps, baseline %s", c.Steps, c.Baseline)
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
