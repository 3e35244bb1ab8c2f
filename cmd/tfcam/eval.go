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
  sanity |ρ| / logit SSIM / sanity
                         sanity checks, with --sanity params,logit:
                         params (Adebayo et al. 2018): the weights of the
                         layers are randomised cascading from the output
                         down (--sanity-layers steps; each weight tensor
                         replaced by a seeded permutation of its own values,
                         fed to TensorFlow: the model on disk and in memory
                         is untouched) and each map is compared with the
                         original: |ρ| is the Spearman correlation of |maps|
                         (Quantus' MPRT default), averaged over images and
                         cascade steps; metrics.json has Spearman, Spearman
                         of |maps| and SSIM after every step, sanity.png
                         plots them.
                         logit (Sixt et al. 2020): the map of a random other
                         class against the explained class's map, SSIM of
                         the flattened maps each divided by its max |value|
                         (Quantus' RandomLogit). A method FAILS params when
                         |ρ| > 0.5 (its maps hardly depend on what the model
                         learnt: Guided Backprop's classic failure) and
                         FAILS logit when the SSIM > 0.5 (its maps hardly
                         depend on the class); flags in metrics.json and
                         report.html say so. The checks run on the first
                         --sanity-images images (default 16; 0: all), the
                         other metrics on every image.

--seed also seeds ROAD's imputation noise, max-sensitivity's
perturbations, the sanity checks' permutations and random classes (each image's noise depends on the seed and the image, not
on its place in a batch).

Probabilities are the model's output (a softmax is added to logits models).
The terminal table is always printed; --out also gets report.html,
report.md, metrics.csv, metrics.json (with every image's numbers),
curves.csv, deletion.png, insertion.png and scores.png (and sanity.png
with --sanity params).

report.html is one self-contained page (plots and example maps embedded):
the settings; a table of every method's scores with its rank on each
metric (1 is best; equal values, within 1e-5 relative, share the mean of their places, a
method lacking a value others have ranks last), its mean rank over the
measured metrics of faithfulness, localisation and robustness (not
sparseness or complexity, which describe the map's shape), and its
forward passes per image; the plots; the maps of the first 3 images; and
a recommendation: the best mean rank among the methods no sanity check
flagged, a method at least 4 times cheaper that is nearly as good, and
the flagged methods with their reasons. report.md is the table and the
recommendation in Markdown, to paste into an issue.

--target and --output choose what the maps explain, as for tfcam explain.
The pointing games, sparseness, complexity and max-sensitivity read only
the maps and work for every target. Average Drop, Increase in
Confidence, deletion, insertion and ROAD score the explained class's
probability, which is what the maps explain only for --target class:
for any other target they are not run (shown as -), and --road is
refused.

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
	fs.StringVar(&o.methods, "method", "all", "comma-separated methods (any of `tfcam explain`'s but dff, whose maps are concepts: "+methodNames()+"), or all: the gradient family (one backward pass for all)")
	fs.StringVar(&o.class, "class", "top1", "class to explain and score: top1 or a class index (with --target, a column of the target's scores)")
	fs.StringVar(&o.target, "target", "class", targetUsage+" (other targets than class: see above for the metrics)")
	fs.StringVar(&o.boxes, "boxes", "", "ground-truth boxes, CSV image,x0,y0,x1,y1 (see above); enables the pointing games")
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
	fs.Usage = evalUsage(fs)
	return fs
}

func runEval(ctx context.Context, args []string) error {
	var o evalOptions
	fs := evalFlags(&o)
	if err := fs.Parse(args); err != nil {
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
	class    int // -1: top-1
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
		Examples: o.out != "", Batch: o.batch, Workers: o.workers, Progress: newProgress(log, isTerminal(log), len(images)),
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
		}
	}
	if failed > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%d of %d images failed (see the messages above); the table covers the other %d", failed, len(images)+len(bad), len(images)-sum.Failed)}
	}
	return nil
}
