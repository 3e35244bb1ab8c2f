package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/evaluate"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/inputs"
)

// evalOptions are the flags of `tfcam eval`.
type evalOptions struct {
	modelFlags
	explainFlags
	methods   string
	class     string
	target    string
	boxes     string
	tolerance float64
	steps     int
	baseline  string
	blurSigma float64
	road      string
	roadNoise float64
	sensN     int
	sensR     float64
	sanity    string
	sanLayers string
	sanImages int
	batch     int
	runImages int
	workers   int
	out       string
}

// evalHelp is `tfcam eval -h`; docs/eval.md says the rest.
var evalHelp = help{
	synopsis: []string{"tfcam eval --model DIR [--boxes FILE] [--out DIR] [flags] INPUTS..."},
	about: `Scores explanation methods on a model, so you can see which one to trust:
faithfulness (Average Drop, Increase in Confidence, Deletion/Insertion AUC,
ROAD), localisation (pointing games, with --boxes), robustness (max
sensitivity), the maps' sparseness and complexity, and sanity checks
(--sanity). Prints a table; --out also gets report.html (ranks and a
recommendation), report.md, metrics.csv/json, curves.csv and plots.
INPUTS are as for tfcam explain; flags may follow them. Methods: tfcam
methods. Metrics, baselines, targets: docs/eval.md.`,
	examples: []example{
		{"every gradient-family method on the demo photos, with their boxes",
			"tfcam eval --model .models/efficientnet_lite0/model --boxes models/efficientnet_lite0_boxes.csv --out eval-lite0 .models/efficientnet_lite0/photos"},
		{"three methods, the table only",
			"tfcam eval --model .models/efficientnet_lite0/model --method gradcam,gradcam++,scorecam .models/efficientnet_lite0/photos"},
		{"with the sanity checks and ROAD",
			"tfcam eval --model .models/efficientnet_lite0/model --sanity all --road 10,30,50,70,90 --out eval-lite0 .models/efficientnet_lite0/photos"},
		{"the shapes fixture, scored for class 2",
			"tfcam eval --model testdata/fixtures/shapes/model --class 2 --boxes testdata/fixtures/shapes/eval/boxes.csv testdata/fixtures/shapes/eval"},
	},
	main: []string{"model", "method", "boxes", "out", "class", "layer", "target", "preprocess"},
	groups: []flagGroup{
		{"Metrics", []string{"tolerance", "steps", "baseline", "blur-sigma", "road", "road-noise", "sensitivity", "sensitivity-radius", "sanity", "sanity-layers", "sanity-images"}},
		{"Method", []string{"probabilities", "seed", "tokens"}},
		{"Run", []string{"batch", "run-images", "workers", "threads", "device", "max-tensor-mb", "max-decode-mb"}},
		{"Model", []string{"labels", "size", "output", "input", "input-tensor", "signature", "tags"}},
	},
	more: `Metrics (docs/eval.md):
  pointing game %, energy pointing game %   the map's maximum / share of its
                         sum inside the --boxes (within --tolerance)
  Average Drop %, Increase in Conf. %       the class probability on the image
                         multiplied by its map, against the image's
  Deletion / Insertion AUC   probability as the most important pixels are
                         replaced by / revealed on the --baseline
  ROAD MoRF / LeRF AUC   the same, pixels filled by noisy linear imputation
  max sens               max-sensitivity: change of the map under
                         --sensitivity N small input noises
  sanity |ρ| / logit SSIM   maps against a randomised model / another class;
                         above 0.5 a method FAILS
report.html ranks the methods on each metric and by their mean rank, and
makes a recommendation. --seed also seeds ROAD's noise, the perturbations
and the sanity checks. For --target other than class,
only the map-only metrics run (pointing games, sparseness, complexity and
max sensitivity).

Boxes file: CSV with the header image,x0,y0,x1,y1, one box per row, in
pixels of the original image, ends inclusive; image is the path as given
or its base name. Example:
  image,x0,y0,x1,y1
  cat.jpg,12,40,180,220
  photos/dogs.png,0,10,64,90`,
}

// evalFlags declares the flags of `tfcam eval` into o.
func evalFlags(o *evalOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	o.modelFlags.register(fs)
	o.explainFlags.register(fs, "explain the probability instead of the logit (the metrics always score probabilities)")
	fs.StringVar(&o.methods, "method", "all", "comma-separated methods, as for tfcam explain but dff (its maps are concepts; tfcam methods lists them), or all: the gradient family")
	fs.StringVar(&o.class, "class", "top1", "class to explain and score: top1, a class index or a class label (with --target, a column of the target's scores)")
	fs.StringVar(&o.target, "target", "class", targetUsage+" (other targets: only the map-only metrics)")
	fs.StringVar(&o.boxes, "boxes", "", "ground-truth boxes, CSV image,x0,y0,x1,y1 (see below); enables the pointing games")
	fs.Float64Var(&o.tolerance, "tolerance", evaluate.ToleranceAt224, "pointing game tolerance in pixels at 224 px, scaled to the model input's shorter side")
	fs.IntVar(&o.steps, "steps", 16, "deletion/insertion steps (curves have steps+1 points)")
	fs.StringVar(&o.baseline, "baseline", "zero", "what deleted pixels become: zero, blur or mean")
	fs.Float64Var(&o.blurSigma, "blur-sigma", 0, "Gaussian σ in input pixels for --baseline blur (0: 10 px per 224 px)")
	fs.StringVar(&o.road, "road", "none", "ROAD: comma-separated ascending percentages of pixels removed, each in (0,100), e.g. 10,20,30,40,50,60,70,80,90 (the paper's); none: off (slow: an imputation solve per image, map and percentage)")
	fs.Float64Var(&o.roadNoise, "road-noise", evaluate.DefaultROADNoise, "ROAD: standard deviation of the noise added to imputed pixels, in the model's input units (after --preprocess)")
	fs.IntVar(&o.sensN, "sensitivity", 0, "max-sensitivity: perturbations per image (0: off; each costs one explanation of every method per image)")
	fs.Float64Var(&o.sensR, "sensitivity-radius", 0.02, "max-sensitivity: half-width of the uniform input noise, in the model's input units (after --preprocess)")
	fs.StringVar(&o.sanity, "sanity", "none", "sanity checks: params (model-parameter randomisation), logit (random logit), comma-separated, all or none (params costs one explanation of every method per image and cascade step)")
	fs.StringVar(&o.sanLayers, "sanity-layers", "8", "sanity params: cascade steps, spread evenly over the layers with weights from the output down, or all (one per layer)")
	fs.IntVar(&o.sanImages, "sanity-images", 16, "run the sanity checks on the first `N` images only (in input order; 0: all): they cost one explanation of every method per image and cascade step")
	fs.IntVar(&o.batch, "batch", 16, "images explained per TensorFlow run")
	fs.IntVar(&o.runImages, "run-images", 128, "at most this many perturbed images per TensorFlow run (lower it if memory runs out)")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "goroutines decoding images")
	fs.StringVar(&o.out, "out", "", "directory for report.html, report.md, metrics.csv, metrics.json, curves.csv and the PNG plots (default: table only)")
	fs.Usage = evalHelp.usage(fs)
	return fs
}

func runEval(ctx context.Context, args []string) error {
	var o evalOptions
	fs := evalFlags(&o)
	if err := parseArgs(fs, args); err != nil {
		return flagError(err)
	}
	if fs.NArg() == 0 {
		return usageError("no inputs: give image files, directories, globs, @list.txt or -")
	}
	return evalRun(ctx, o, fs.Args(), os.Stdin, os.Stdout, os.Stderr)
}

// evalSettings is everything resolved from the flags before loading.
type evalSettings struct {
	methods  []explainer.Method
	class    int    // -1: top-1
	label    string // --class by label, looked up once the model is open
	baseline evaluate.Baseline
	road     []float64 // nil: no ROAD
	sanity   evaluate.SanityConfig
	target   tfcam.Target
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
	if c, err := explainer.ParseClass(o.class); err != nil || c.TopK > 1 {
		return s, usageError(fmt.Sprintf("--class %q: want top1, a class index or a class label", o.class))
	} else if c.TopK == 0 {
		s.class, s.label = c.Index, c.Label
	}
	if s.baseline, err = evaluate.ParseBaseline(o.baseline); err != nil {
		return s, usageError("--baseline: " + err.Error())
	}
	if s.road, err = parseROAD(o.road); err != nil {
		return s, err
	}
	if s.sanity.Params, s.sanity.Logit, err = evaluate.ParseSanity(o.sanity); err != nil {
		return s, usageError("--sanity: " + err.Error())
	}
	if v := strings.TrimSpace(o.sanLayers); s.sanity.Params && !strings.EqualFold(v, "all") {
		if s.sanity.Steps, err = strconv.Atoi(v); err != nil || s.sanity.Steps < 1 {
			return s, usageError(fmt.Sprintf("--sanity-layers %q: want a number of cascade steps >= 1 or all", o.sanLayers))
		}
	}
	s.sanity.Seed = uint64(o.explainFlags.seed)
	if o.sanImages < 0 {
		return s, usageError(fmt.Sprintf("--sanity-images %d: want a number of images >= 1, or 0 for all", o.sanImages))
	}
	if s.target, err = parseTarget(o.target); err != nil {
		return s, err
	}
	if !s.target.IsClass() && s.road != nil {
		return s, usageError(fmt.Sprintf("--road with --target %s: ROAD scores the class probability, which is not what these maps explain; drop --road, or use --target class", o.target))
	}
	if !s.target.IsClass() && s.sanity.Logit {
		return s, usageError(fmt.Sprintf("--sanity logit with --target %s: the random-logit test compares a class's map with another class's, and this target has no classes; use --sanity params", o.target))
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

// readBoxes reads --boxes and matches its rows to the inputs
// (evaluate.MatchBoxes).
func readBoxes(path string, images []inputs.Input) (map[string][]evaluate.Box, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("--boxes: %w", err)
	}
	defer f.Close()
	rows, err := evaluate.ParseBoxes(f, path)
	if err != nil {
		return nil, 0, err
	}
	paths := make([]string, len(images))
	for i, in := range images {
		paths[i] = in.Path
	}
	boxes, unmatched, err := evaluate.MatchBoxes(rows, paths)
	if err != nil {
		return nil, 0, fmt.Errorf("--boxes %s: %w", path, err)
	}
	return boxes, unmatched, nil
}

func evalRun(ctx context.Context, o evalOptions, args []string, stdin io.Reader, stdout, log io.Writer) error {
	s, err := o.resolve()
	if err != nil {
		return err
	}
	var bad badPaths
	images, err := inputs.ExpandFiles(ctx, args, stdin, bad.add)
	if err != nil {
		return interruptedError(err)
	}
	bad.report(log)
	if len(images) == 0 && len(bad) > 0 {
		return fmt.Errorf("no images to evaluate: %s: %v", bad[0].path, bad[0].err)
	}
	if len(images) == 0 {
		return fmt.Errorf("no images found in %s", strings.Join(args, " "))
	}
	var boxes map[string][]evaluate.Box
	if o.boxes != "" {
		unmatched := 0
		if boxes, unmatched, err = readBoxes(o.boxes, images); err != nil {
			return err
		}
		if len(boxes) == 0 {
			return fmt.Errorf("--boxes %s: none of its images is among the %d inputs; name them by path or base name", o.boxes, len(images))
		}
		if unmatched > 0 {
			fmt.Fprintf(log, "note: %s names %d images that are not among the inputs\n", o.boxes, unmatched)
		}
		if len(boxes) < len(images) {
			fmt.Fprintf(log, "note: %d of %d inputs have no boxes; the pointing games use the other %d\n", len(images)-len(boxes), len(images), len(boxes))
		}
	}
	// The sanity checks compare raw maps (signed where the method is).
	o.explainFlags.target = s.target
	opened, e, err := o.explainer(ctx, o.explainFlags, explainer.Config{Methods: s.methods, Raw: s.sanity.Params || s.sanity.Logit})
	if err != nil {
		return err
	}
	defer opened.Close()
	if s.label != "" {
		c, err := checkClass(opened, e, explainer.Class{Label: s.label})
		if err != nil {
			return err
		}
		s.class = c.Index
	}
	if s.class >= e.Classes() {
		if !e.Objective().IsClass() {
			return usageError(fmt.Sprintf("--class %d: --target %s scores %d classes (0..%d)", s.class, e.Objective(), e.Classes(), e.Classes()-1))
		}
		return usageError(fmt.Sprintf("--class %d: the model has %d classes (0..%d)", s.class, e.Classes(), e.Classes()-1))
	}
	viewSize := 0
	if o.out != "" {
		viewSize = evaluate.ExampleSize // the report's example maps
	}
	dec, err := opened.Decoder(viewSize)
	if err != nil {
		return err
	}
	defer dec.Close()
	run, err := evaluate.NewRun(ctx, evaluate.RunConfig{Model: opened.TF, Explainer: e, Decoder: dec, Images: images, Boxes: boxes,
		TopK1: s.class < 0, Class: s.class,
		Metrics:   evaluate.Config{Steps: o.steps, Baseline: s.baseline, BlurSigma: o.blurSigma, RunImages: o.runImages},
		Tolerance: o.tolerance, ROAD: s.road, ROADNoise: o.roadNoise, Sanity: s.sanity, SanityImages: o.sanImages,
		Sensitivity: evaluate.SensitivityConfig{Samples: o.sensN, Radius: o.sensR}, Seed: uint64(o.explainFlags.seed),
		Examples: o.out != "", Label: opened.Labeler(e), Batch: o.batch, Workers: o.workers, Progress: newProgress(log, isTerminal(log), len(images)), StopGrace: stopGrace,
		MethodSpec: o.methods, BoxesName: o.boxes})
	if err != nil {
		return err
	}
	if !run.Perturbs() {
		fmt.Fprintf(log, "note: --target %s: Average Drop, Increase in Confidence, deletion and insertion score class probabilities, not what these maps explain; they are not run\n", e.Objective())
	}
	fmt.Fprintf(log, "tfcam eval: %d images, model %s, layer %s, methods %s, %s, %s, %s\n",
		len(images), opened.TF.Dir, e.Layer().Name, methodList(e), preprocessNote(opened), run, deviceNote(opened.TF))
	warnPreprocess(ctx, log, opened, args)
	reportSkipped(log, e)
	if san := run.Sanity(); san != nil {
		n := run.SanityImages()
		on := fmt.Sprintf("on all %d images", n)
		if n < len(images) {
			on = fmt.Sprintf("on the first %d of %d images (--sanity-images)", n, len(images))
		}
		if s.sanity.Params {
			fmt.Fprintf(log, "sanity: %d layers with weights, randomised from the top in %d steps (%s first), %s\n", len(san.Layers()), len(san.Cuts()), san.Layers()[0], on)
		} else {
			fmt.Fprintf(log, "sanity: random logit %s\n", on)
		}
	}
	rep, sum, err := run.Do(ctx)
	if err != nil {
		return err
	}
	if sum.Interrupted {
		return exitError{code: signalExitCode(), msg: "interrupted; nothing written (the metrics need every image)"}
	}
	failed := sum.Failed + len(bad)
	if rep == nil {
		return exitError{code: 1, msg: fmt.Sprintf("all %d images failed (see the messages above)", len(images)+len(bad))}
	}
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	if o.out != "" {
		names, err := rep.WriteFiles(o.out, run.Examples())
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote %s to %s\n", strings.Join(names, ", "), o.out)
		if rec := evaluate.Rank(rep.Methods).Recommend(); rec.Text != "" {
			fmt.Fprintf(log, "%s\n", rec.Text)
			if note := rep.SmallSample(); note != "" {
				fmt.Fprintf(log, "note: %s\n", note)
			}
		}
	}
	if failed > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%d of %d images failed (see the messages above); the table covers the other %d", failed, len(images)+len(bad), len(images)-sum.Failed)}
	}
	return nil
}
