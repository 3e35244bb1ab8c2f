package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tfcam/tfcam/evaluate"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/render"
	"github.com/tfcam/tfcam/tfimage"
)

// evalOptions are the flags of `tfcam eval`.
type evalOptions struct {
	modelFlags
	explainFlags
	methods   string
	class     string
	boxes     string
	tolerance float64
	steps     int
	baseline  string
	blurSigma float64
	road      string
	roadNoise float64
	sensN     int
	sensR     float64
	batch     int
	runImages int
	workers   int
	out       string
}

func evalUsage(fs *flag.FlagSet) func() {
	return func() {
		fmt.Fprintf(fs.Output(), `Usage: tfcam eval --model DIR [--boxes FILE] [--out DIR] [flags] INPUTS...

Scores explanation methods on a model, so you can see which one to trust:

  pointing game %%        hits of the map's maximum in a box (within
                         --tolerance); needs --boxes
  energy pointing game %% share of the map's sum inside the boxes; needs --boxes
  Average Drop %%         100·mean max(0, Y−O)/Y, lower is better
  Increase in Conf. %%    100·mean [O > Y], higher is better
                         (Y: probability of the explained class on the
                         image, O: on the image multiplied by its map)
  Deletion AUC           probability as the map's most important pixels are
                         replaced by the baseline, over the fraction
                         replaced; lower is better
  Insertion AUC          the same, revealing pixels on the baseline; higher
                         is better
  max sens               max-sensitivity (Yeh et al. 2019), with --sensitivity
                         N: max over N uniform input perturbations of
                         ±--sensitivity-radius of ‖map(x) − map(x+δ)‖ /
                         ‖map(x)‖ on the normalised maps; lower is better
  ROAD MoRF / LeRF AUC   ROAD (Rong et al. 2022): the most (MoRF) or least
                         (LeRF) relevant --road percentages of pixels are
                         removed and filled from their neighbours by noisy
                         linear imputation (--road-noise), so that the fill
                         does not betray the removed shape; mean probability
                         of the class over the percentages. MoRF lower is
                         better, LeRF higher. metrics.json and curves.csv
                         also have the accuracy curves (class still on top).

--seed also seeds ROAD's imputation noise and max-sensitivity's
perturbations (each image's noise depends on the seed and the image, not
on its place in a batch).

Probabilities are the model's output (a softmax is added to logits models).
The terminal table is always printed; --out also gets metrics.csv,
metrics.json (with every image's numbers), curves.csv, deletion.png,
insertion.png and scores.png.

INPUTS are image files, directories (searched recursively), globs, @list.txt
files (one path per line) or - (such a list on stdin). Images that cannot be
read are skipped and reported.

Boxes file (--boxes): CSV with the header image,x0,y0,x1,y1 and one box per
row, in pixels of the original image (after EXIF rotation), both ends
inclusive; several rows for one image give it several boxes (a hit in any
counts). image is the path as given on the command line or found in a
directory, or its base name. Example:

  image,x0,y0,x1,y1
  cat.jpg,12,40,180,220
  photos/dogs.png,0,10,64,90
  photos/dogs.png,100,12,170,96

Baselines (--baseline): zero is the value 0 in the model's input space
(after --preprocess: black for unit/raw, grey for tf, the mean colour for
caffe/torch); blur a Gaussian-blurred copy (--blur-sigma); mean the image's
mean colour. The masked image of Average Drop is baseline + map·(image −
baseline), image·map for zero.

Flags:
`)
		fs.PrintDefaults()
	}
}

// evalFlags declares the flags of `tfcam eval` into o.
func evalFlags(o *evalOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	o.modelFlags.register(fs)
	o.explainFlags.register(fs, "explain the probability instead of the logit (the metrics always score probabilities)")
	fs.StringVar(&o.methods, "method", "all", "comma-separated methods (any of `tfcam explain`'s), or all: "+methodNames())
	fs.StringVar(&o.class, "class", "top1", "class to explain and score: top1 or a class index")
	fs.StringVar(&o.boxes, "boxes", "", "ground-truth boxes, CSV image,x0,y0,x1,y1 (see above); enables the pointing games")
	fs.Float64Var(&o.tolerance, "tolerance", evaluate.ToleranceAt224, "pointing game tolerance in pixels at 224 px, scaled to the model input's shorter side")
	fs.IntVar(&o.steps, "steps", 16, "deletion/insertion steps (curves have steps+1 points)")
	fs.StringVar(&o.baseline, "baseline", "zero", "what deleted pixels become: zero, blur or mean")
	fs.Float64Var(&o.blurSigma, "blur-sigma", 0, "Gaussian σ in input pixels for --baseline blur (0: 10 px per 224 px)")
	fs.StringVar(&o.road, "road", "none", "ROAD: comma-separated ascending percentages of pixels removed, each in (0,100), e.g. 10,20,30,40,50,60,70,80,90 (the paper's); none: off (slow: an imputation solve per image, map and percentage)")
	fs.Float64Var(&o.roadNoise, "road-noise", evaluate.DefaultROADNoise, "ROAD: standard deviation of the noise added to imputed pixels, in the model's input units (after --preprocess)")
	fs.IntVar(&o.sensN, "sensitivity", 0, "max-sensitivity: perturbations per image (0: off; each costs one explanation of every method per image)")
	fs.Float64Var(&o.sensR, "sensitivity-radius", 0.02, "max-sensitivity: half-width of the uniform input noise, in the model's input units (after --preprocess)")
	fs.IntVar(&o.batch, "batch", 16, "images explained per TensorFlow run")
	fs.IntVar(&o.runImages, "run-images", 128, "at most this many perturbed images per TensorFlow run (lower it if memory runs out)")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "goroutines decoding images")
	fs.StringVar(&o.out, "out", "", "directory for metrics.csv, metrics.json, curves.csv and the PNG plots (default: table only)")
	fs.Usage = evalUsage(fs)
	return fs
}

func runEval(args []string) error {
	var o evalOptions
	fs := evalFlags(&o)
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() == 0 {
		return usageError("no inputs: give image files, directories, globs, @list.txt or -")
	}
	ctx, stop := interruptContext()
	defer stop()
	return evalRun(ctx, o, fs.Args(), os.Stdin, os.Stdout, os.Stderr)
}

// evalSettings is everything resolved from the flags before loading.
type evalSettings struct {
	methods  []explainer.Method
	class    int // -1: top-1
	baseline evaluate.Baseline
	road     []float64 // nil: no ROAD
}

func (o evalOptions) resolve() (evalSettings, error) {
	s := evalSettings{class: -1}
	var err error
	if s.methods, err = explainer.ParseMethods(o.methods); err != nil {
		return s, usageError("--method: " + err.Error())
	}
	for _, m := range s.methods {
		// Its concepts do not explain a class: deleting or keeping pixels
		// by them measures nothing about the class score.
		if _, ok := m.(explainer.ConceptMethod); ok {
			return s, usageError(fmt.Sprintf("--method %s: its concept maps explain no class, so the class-faithfulness metrics of eval do not apply; look at them with `tfcam explain --method %s`", m.Name(), m.Name()))
		}
	}
	if o.class != "" && o.class != "top1" {
		if s.class, err = strconv.Atoi(o.class); err != nil || s.class < 0 {
			return s, usageError(fmt.Sprintf("--class %q: want top1 or a class index", o.class))
		}
	}
	if s.baseline, err = evaluate.ParseBaseline(o.baseline); err != nil {
		return s, usageError("--baseline: " + err.Error())
	}
	if s.road, err = parseROAD(o.road); err != nil {
		return s, err
	}
	switch {
	case o.steps < 1:
		return s, usageError(fmt.Sprintf("--steps %d: want at least 1", o.steps))
	case o.tolerance < 0:
		return s, usageError(fmt.Sprintf("--tolerance %g: want a distance >= 0", o.tolerance))
	case o.blurSigma < 0:
		return s, usageError(fmt.Sprintf("--blur-sigma %g: want 0 (default) or a positive σ", o.blurSigma))
	case o.sensN < 0 || !(o.sensR > 0 && o.sensR < 1e9):
		return s, usageError(fmt.Sprintf("--sensitivity %d --sensitivity-radius %g: want samples >= 0 (0: off) and a finite radius > 0", o.sensN, o.sensR))
	case !(o.roadNoise >= 0 && o.roadNoise < 1e9):
		return s, usageError(fmt.Sprintf("--road-noise %g: want a finite standard deviation >= 0", o.roadNoise))
	case o.runImages < 4:
		return s, usageError("--run-images must be at least 4")
	case !(o.tolerance < 1e9) || !(o.blurSigma < 1e9):
		return s, usageError("--tolerance and --blur-sigma must be finite")
	}
	return s, checkRunFlags(o.batch, o.workers, o.threads, o.maxTensor, 256)
}

// parseROAD parses --road: ascending percentages in (0,100), or none.
func parseROAD(v string) ([]float64, error) {
	if v = strings.TrimSpace(v); v == "" || strings.EqualFold(v, "none") {
		return nil, nil
	}
	var out []float64
	for _, f := range strings.Split(v, ",") {
		p, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(p > 0 && p < 100) || (len(out) > 0 && p <= out[len(out)-1]) {
			return nil, usageError(fmt.Sprintf("--road %q: want ascending percentages in (0,100), e.g. 10,20,50, or none", v))
		}
		out = append(out, p)
	}
	return out, nil
}

// readBoxes reads --boxes and matches its rows to the inputs: by the path
// as given or found, else by base name. Rows naming no input are counted.
func readBoxes(path string, inputs []input) (map[string][]evaluate.Box, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("--boxes: %w", err)
	}
	defer f.Close()
	rows, err := evaluate.ParseBoxes(f, path)
	if err != nil {
		return nil, 0, err
	}
	byPath, byBase := map[string]string{}, map[string][]string{}
	for _, in := range inputs {
		byPath[filepath.Clean(in.Path)] = in.Path
		base := filepath.Base(in.Path)
		byBase[base] = append(byBase[base], in.Path)
	}
	out := map[string][]evaluate.Box{}
	unmatched := 0
	for name, boxes := range rows {
		if p, ok := byPath[filepath.Clean(name)]; ok {
			out[p] = append(out[p], boxes...)
			continue
		}
		switch ps := byBase[name]; len(ps) {
		case 0:
			unmatched++
		case 1:
			out[ps[0]] = append(out[ps[0]], boxes...)
		default:
			return nil, 0, fmt.Errorf("--boxes %s: image %q matches %d inputs (%s, ...); name it by its path", path, name, len(ps), ps[0])
		}
	}
	return out, unmatched, nil
}

func evalRun(ctx context.Context, o evalOptions, args []string, stdin io.Reader, stdout, log io.Writer) error {
	s, err := o.resolve()
	if err != nil {
		return err
	}
	var bad badPaths
	inputs, err := expandFiles(args, stdin, bad.add)
	if err != nil {
		return err
	}
	bad.report(log)
	if len(inputs) == 0 && len(bad) > 0 {
		return fmt.Errorf("no images to evaluate: %s: %v", bad[0].path, bad[0].err)
	}
	if len(inputs) == 0 {
		return fmt.Errorf("no images found in %s", strings.Join(args, " "))
	}
	var boxes map[string][]evaluate.Box
	if o.boxes != "" {
		unmatched := 0
		if boxes, unmatched, err = readBoxes(o.boxes, inputs); err != nil {
			return err
		}
		if len(boxes) == 0 {
			return fmt.Errorf("--boxes %s: none of its images is among the %d inputs; name them by path or base name", o.boxes, len(inputs))
		}
		if unmatched > 0 {
			fmt.Fprintf(log, "note: %s names %d images that are not among the inputs\n", o.boxes, unmatched)
		}
		if len(boxes) < len(inputs) {
			fmt.Fprintf(log, "note: %d of %d inputs have no boxes; the pointing games use the other %d\n", len(inputs)-len(boxes), len(inputs), len(boxes))
		}
	}
	m, _, pre, e, err := o.explainer(o.explainFlags, explainer.Config{Methods: s.methods})
	if err != nil {
		return err
	}
	defer m.Close()
	if s.class >= e.Classes() {
		return usageError(fmt.Sprintf("--class %d: the model has %d classes (0..%d)", s.class, e.Classes(), e.Classes()-1))
	}
	ev, err := evaluate.New(m, evaluate.Config{Steps: o.steps, Baseline: s.baseline, BlurSigma: o.blurSigma, RunImages: o.runImages})
	if err != nil {
		return err
	}
	var road *evaluate.ROAD
	if s.road != nil {
		if road, err = evaluate.NewROAD(m, evaluate.ROADConfig{Percentages: s.road, Noise: o.roadNoise, Seed: uint64(o.explainFlags.seed), RunImages: o.runImages}); err != nil {
			return err
		}
	}
	h, w := e.InputSize()
	_, _, c := m.InputSize()
	tol := evaluate.ScaleTolerance(o.tolerance, w, h)
	fmt.Fprintf(log, "tfcam eval: %d images, model %s, layer %s, methods %s, preprocess %s, %d steps, baseline %s, %s\n",
		len(inputs), m.Dir, e.Layer().Name, methodList(e), pre, o.steps, s.baseline, deviceNote(m))
	reportSkipped(log, e)

	dec, err := tfimage.NewDecoder(tfimage.DecodeOptions{Width: w, Height: h, Channels: c, Preprocess: pre})
	if err != nil {
		return err
	}
	defer dec.Close()
	st := &evalStages{e: e, ev: ev, road: road, class: s.class, boxes: boxes, tol: tol,
		sens: evaluate.SensitivityConfig{Samples: o.sensN, Radius: o.sensR, Seed: uint64(o.explainFlags.seed)}, channels: c}
	p := &pipeline{decoder: dec, batch: o.batch, workers: o.workers, maxBytes: 256 << 20,
		prog: newProgress(log, isTerminal(log), len(inputs))}
	sum, err := p.run(ctx, slices.Values(inputs), st)
	if err != nil {
		return err
	}
	if sum.interrupted {
		return exitError{signalExitCode(), "interrupted; nothing written (the metrics need every image)"}
	}
	failed, results := sum.failed+len(bad), st.results
	if len(results) == 0 {
		return exitError{1, fmt.Sprintf("all %d images failed (see the messages above)", len(inputs))}
	}
	var names []string
	for _, mt := range e.Methods() {
		names = append(names, mt.Name())
	}
	rep := &evaluate.Report{
		Settings: evaluate.Settings{Model: m.Dir, Layer: e.Layer().Name, Class: o.class, Steps: o.steps, Baseline: string(s.baseline),
			Tolerance: tol, Boxes: o.boxes, MethodSpec: o.methods},
		Fractions: evaluate.Fractions(o.steps), Counts: ev.Counts(), Methods: evaluate.Summarize(names, results), Images: results,
	}
	if o.sensN > 0 {
		rep.Settings.SensitivitySamples, rep.Settings.SensitivityRadius = o.sensN, o.sensR
	}
	if road != nil || o.sensN > 0 {
		rep.Settings.Seed = uint64(o.explainFlags.seed)
	}
	if road != nil {
		rep.Settings.ROADPercentages, rep.Settings.ROADNoise = s.road, o.roadNoise
		for i := range rep.Methods {
			rep.Methods[i].ROAD = evaluate.SummarizeROAD(s.road, rep.Methods[i].Method, results)
		}
	}
	if s.baseline == evaluate.Blur {
		rep.Settings.BlurSigma = ev.Config().BlurSigma
	}
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	if o.out != "" {
		if err := writeEvalOutputs(o.out, rep); err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote metrics.csv, metrics.json, curves.csv, deletion.png, insertion.png and scores.png to %s\n", o.out)
	}
	if failed > 0 {
		return exitError{1, fmt.Sprintf("%d of %d images failed (see the messages above); the table covers the other %d", failed, len(inputs), len(inputs)-failed)}
	}
	return nil
}

// evalStages explain each batch (one run), then score every method's
// maps: pointing in Go, the perturbation metrics in the graph.
type evalStages struct {
	e        *explainer.Explainer
	ev       *evaluate.Evaluator
	road     *evaluate.ROAD             // nil: no ROAD
	sens     evaluate.SensitivityConfig // Samples 0: no max-sensitivity
	channels int                        // of the model's input
	class    int
	boxes    map[string][]evaluate.Box
	tol      float64
	mu       sync.Mutex
	results  []evaluate.ImageResult
}

func (x *evalStages) runBatch(ctx context.Context, batch []*item) error {
	h, w := x.e.InputSize()
	pixels := batchPixels(batch)
	targets := explainer.Top1()
	if x.class >= 0 {
		cls := make([]int, len(batch))
		for i := range cls {
			cls[i] = x.class
		}
		targets = explainer.Classes(cls...)
	}
	res, err := x.e.Explain(ctx, explainer.Batch{Pixels: pixels, N: len(batch)}, targets)
	if err != nil {
		return err
	}
	var out []evaluate.ImageResult
	for j, mt := range x.e.Methods() {
		maps := make([]float32, 0, len(batch)*h*w)
		classes := make([]int, len(batch))
		for i := range batch {
			mp := res[i].Maps[0][j]
			maps = append(maps, mp.Normalized...)
			classes[i] = mp.Class
		}
		faith, err := x.ev.Run(ctx, pixels, maps, classes)
		if err != nil {
			return fmt.Errorf("%s: %w", mt.Name(), err)
		}
		var sens []float64
		if x.sens.Samples > 0 {
			if sens, err = evaluate.MaxSensitivity(ctx, x.explainMethod(j), pixels, maps, classes, h, w, x.channels, x.sens); err != nil {
				return fmt.Errorf("%s: %w", mt.Name(), err)
			}
		}
		var road []evaluate.ROADResult
		if x.road != nil {
			if road, err = x.road.Run(ctx, pixels, maps, classes); err != nil {
				return fmt.Errorf("%s: %w", mt.Name(), err)
			}
		}
		for i, it := range batch {
			m := maps[i*h*w : (i+1)*h*w]
			r := evaluate.ImageResult{Image: it.in.Path, Method: mt.Name(), Faithfulness: faith[i],
				Sparseness: evaluate.Sparseness(m), Complexity: evaluate.Complexity(m)}
			if road != nil {
				r.ROAD = &road[i]
			}
			if sens != nil && !math.IsNaN(sens[i]) {
				r.MaxSensitivity = &sens[i]
			}
			if bs := x.boxes[it.in.Path]; len(bs) > 0 {
				var rects []evaluate.Rect
				for _, bx := range bs {
					rects = append(rects, bx.ToMap(it.dec.Width, it.dec.Height, w, h))
				}
				p := evaluate.Point(m, w, h, rects, x.tol)
				r.Pointing = &p
			}
			out = append(out, r)
		}
	}
	x.mu.Lock()
	x.results = append(x.results, out...)
	x.mu.Unlock()
	return nil
}

// explainMethod explains perturbed images for max-sensitivity and returns
// method j's normalised maps.
func (x *evalStages) explainMethod(j int) evaluate.ExplainFunc {
	return func(ctx context.Context, pixels []float32, classes []int) ([]float32, error) {
		res, err := x.e.Explain(ctx, explainer.Batch{Pixels: pixels, N: len(classes)}, explainer.Classes(classes...))
		if err != nil {
			return nil, err
		}
		var out []float32
		for _, r := range res {
			out = append(out, r.Maps[0][j].Normalized...)
		}
		return out, nil
	}
}

// write has nothing to write per image: the report needs every image.
func (x *evalStages) write(context.Context, *item) error { return nil }

// writeEvalOutputs writes the report's files atomically into dir.
func writeEvalOutputs(dir string, rep *evaluate.Report) error {
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"metrics.csv", rep.WriteCSV},
		{"metrics.json", rep.WriteJSON},
		{"curves.csv", rep.WriteCurvesCSV},
		{"deletion.png", func(w io.Writer) error { return rep.PlotCurves(w, "deletion") }},
		{"insertion.png", func(w io.Writer) error { return rep.PlotCurves(w, "insertion") }},
		{"scores.png", rep.PlotScores},
	}
	for _, f := range files {
		if err := render.WriteFileAtomic(filepath.Join(dir, f.name), f.write); err != nil {
			return fmt.Errorf("writing %s: %w", filepath.Join(dir, f.name), err)
		}
	}
	return nil
}
