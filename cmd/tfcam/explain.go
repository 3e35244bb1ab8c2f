package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/engine"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/render"
	"github.com/tfcam/tfcam/results"
	"github.com/tfcam/tfcam/storage"
	"github.com/tfcam/tfcam/tfgraph"
)

// explainOptions are the flags of `tfcam explain`.
type explainOptions struct {
	modelFlags
	explainFlags
	methods    string
	class      string
	target     string
	out        string
	batch      int
	workers    int
	colormap   string
	alpha      float64
	save       string
	force      bool
	shard      string
	shardCount int
	gallery    bool
	// Outputs and the data path.
	overlaySize   int
	overlayFormat string
	quality       int
	durable       bool
	maxFileMB     int
	flushEvery    time.Duration
}

// explainHelp is `tfcam explain -h`; docs/cli.md says the rest.
var explainHelp = help{
	synopsis: []string{"tfcam explain --model DIR --out DIR|URL [flags] INPUTS..."},
	about: `Writes class-activation maps of each image: an overlay and the map per
method, a line per image in results.jsonl, a gallery. INPUTS are images,
folders, globs, @list.txt files, - (a list on stdin) or bucket URLs
(s3://, gs://, azblob://). A rerun skips the images done. Methods and
their options: tfcam methods; outputs, buckets, shards: docs/cli.md.`,
	examples: []example{
		{"Grad-CAM of the top class of each demo photo, into out/",
			"tfcam explain --model .models/efficientnet_lite0/model --out out .models/efficientnet_lite0/photos"},
		{"two methods, a map for each of the 3 best classes; flags after the inputs",
			"tfcam explain .models/efficientnet_lite0/photos --model .models/efficientnet_lite0/model --out out --method gradcam,hirescam --class top3"},
		{"a class by its label (or index: --class 282)",
			`tfcam explain --model .models/efficientnet_lite0/model --out out --class "tiger cat" .models/efficientnet_lite0/photos`},
		{"shard 0 of 4 of a bucket's images, results into the bucket",
			"tfcam explain --model my_model/ --out s3://bucket/cams/ --shard 0/4 s3://bucket/images/"},
	},
	main: []string{"model", "out", "method", "class", "layer", "target", "preprocess"},
	groups: []flagGroup{
		{"Output", []string{"save", "overlay-size", "overlay-format", "quality", "colormap", "alpha", "gallery", "force"}},
		{"Method", []string{"probabilities", "seed", "tokens"}},
		{"Run", []string{"batch", "workers", "threads", "device", "max-tensor-mb", "max-file-mb", "max-decode-mb", "shard", "shard-count", "durable", "flush-every"}},
		{"Model", []string{"labels", "size", "output", "input", "input-tensor", "signature", "tags"}},
	},
}

func runExplain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	var o explainOptions
	o.modelFlags.register(fs)
	o.explainFlags.register(fs, "explain the probability instead of the logit (the input of a final softmax/sigmoid)")
	fs.StringVar(&o.methods, "method", "gradcam", "methods, comma-separated, each NAME[:key=value]... (tfcam methods), or all: the gradient family")
	fs.StringVar(&o.class, "class", "top1", "top1, topK (maps of the K best), a class index or label")
	fs.StringVar(&o.target, "target", "class", targetUsage)
	fs.StringVar(&o.out, "out", "", "output folder or bucket URL (required)")
	fs.IntVar(&o.batch, "batch", 32, "images per TensorFlow run")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "goroutines decoding and encoding images")
	fs.StringVar(&o.colormap, "colormap", "jet", "jet, turbo or viridis")
	fs.Float64Var(&o.alpha, "alpha", 0.5, "opacity of the map over the image, 0..1")
	fs.StringVar(&o.save, "save", "overlay,map16", "per map: overlay, map16 (16-bit PNG), npy, tfrecord")
	fs.IntVar(&o.overlaySize, "overlay-size", 512, "longest side of overlays, px (0: the original's)")
	fs.StringVar(&o.overlayFormat, "overlay-format", "jpeg", "overlay file format: jpeg or png")
	fs.IntVar(&o.quality, "quality", 90, "JPEG quality of overlays, 1..100")
	fs.DurationVar(&o.flushEvery, "flush-every", 15*time.Second, "with --out in a bucket: how often results are stored")
	fs.BoolVar(&o.durable, "durable", false, "sync files before marking a batch done (power loss)")
	fs.IntVar(&o.maxFileMB, "max-file-mb", 256, "skip image files larger than this, MiB")
	fs.BoolVar(&o.force, "force", false, "redo the images already done")
	fs.StringVar(&o.shard, "shard", "", "process only shard i of n (i/n, 0-based)")
	fs.IntVar(&o.shardCount, "shard-count", 0, "shards, the index from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID")
	fs.BoolVar(&o.gallery, "gallery", true, "write index.html in --out")
	fs.Usage = explainHelp.usage(fs)
	if err := parseArgs(fs, args); err != nil {
		return flagError(err)
	}
	if o.out == "" {
		return usageError("--out is required")
	}
	if fs.NArg() == 0 {
		return usageError("no inputs: give image files, directories, globs, @list.txt or -")
	}
	return explainRun(ctx, o, fs.Args(), os.Stdin, os.Stderr)
}

// runSettings is everything resolved before the model loads.
type runSettings struct {
	methods  []explainer.Method
	class    explainer.Class
	target   tfcam.Target
	colormap render.Colormap
	save     map[string]bool
	shard    inputs.Shard
}

// resolve checks every flag that can be checked before the model loads.
func (o explainOptions) resolve() (runSettings, error) {
	if o.flushEvery < 0 {
		return runSettings{}, usageError(fmt.Sprintf("--flush-every %v: must be 0 or positive", o.flushEvery))
	}
	if storage.IsURL(o.out) {
		// The URL's query (driver options) is checked now, before the
		// model loads; the bucket itself is reached at the first request.
		loc, err := storage.Open(context.Background(), o.out)
		if err != nil {
			return runSettings{}, usageError(fmt.Sprintf("--out: %v%s", err, storageHint(o.out)))
		}
		loc.Close()
	}
	var s runSettings
	var err error
	if s.methods, err = explainer.ParseMethods(o.methods); err != nil {
		return s, usageError("--method: " + err.Error())
	}
	if s.class, err = explainer.ParseClass(o.class); err != nil {
		return s, usageError("--" + err.Error())
	}
	if s.target, err = parseTarget(o.target); err != nil {
		return s, err
	}
	if s.colormap, err = render.ParseColormap(o.colormap); err != nil {
		return s, usageError("--colormap: " + err.Error())
	}
	if !(o.alpha >= 0 && o.alpha <= 1) { // NaN too
		return s, usageError(fmt.Sprintf("--alpha %g: want a value in [0, 1]", o.alpha))
	}
	if err := checkRunFlags(o.batch, o.workers, o.threads, o.maxTensor, o.maxFileMB); err != nil {
		return s, err
	}
	if o.overlaySize < 0 || o.overlaySize > 16384 {
		return s, usageError(fmt.Sprintf("--overlay-size %d: want 0 (the original's size) or 1..16384", o.overlaySize))
	}
	if o.overlayFormat != "jpeg" && o.overlayFormat != "png" {
		return s, usageError(fmt.Sprintf("--overlay-format %q: want jpeg or png", o.overlayFormat))
	}
	if o.quality < 1 || o.quality > 100 {
		return s, usageError(fmt.Sprintf("--quality %d: want 1..100", o.quality))
	}
	s.save = map[string]bool{}
	for _, k := range strings.Split(o.save, ",") {
		k = strings.TrimSpace(k)
		switch k {
		case "overlay", "map16", "npy", "tfrecord":
			s.save[k] = true
		case "":
		default:
			return s, usageError(fmt.Sprintf("--save %q: unknown output %q (overlay, map16, npy, tfrecord)", o.save, k))
		}
	}
	if s.shard, err = inputs.ResolveShard(o.shard, o.shardCount, os.Getenv); err != nil {
		return s, usageError(err.Error())
	}
	for _, m := range s.methods {
		if _, ok := m.(explainer.ConceptMethod); ok && s.save["tfrecord"] {
			return s, usageError(fmt.Sprintf("--save tfrecord: method %s writes several concept maps per image, which the TFRecord output (one map per example) does not hold; explain %s with --save overlay,map16,npy, the other methods into another --out", m.Name(), m.Name()))
		}
	}
	return s, nil
}

// checkRunFlags bounds the flags that size memory and threads.
func checkRunFlags(batch, workers, threads, maxTensorMB, maxFileMB int) error {
	switch {
	case batch < 1 || batch > 4096:
		return usageError(fmt.Sprintf("--batch %d: want 1..4096 images per run", batch))
	case workers < 1 || workers > 1024:
		return usageError(fmt.Sprintf("--workers %d: want 1..1024", workers))
	case threads < 0 || threads > 1024:
		return usageError(fmt.Sprintf("--threads %d: want 0 (all cores) or 1..1024", threads))
	case maxTensorMB < 0 || maxTensorMB > 8192:
		return usageError(fmt.Sprintf("--max-tensor-mb %d: want 0 (1024) or 1..8192", maxTensorMB))
	case maxFileMB < 1 || maxFileMB > 1<<20:
		return usageError(fmt.Sprintf("--max-file-mb %d: want at least 1", maxFileMB))
	}
	return nil
}

func explainRun(ctx context.Context, o explainOptions, args []string, stdin io.Reader, log io.Writer) error {
	s, err := o.resolve()
	if err != nil {
		return err
	}
	x := o.explainFlags
	x.target = s.target
	m, e, err := o.explainer(ctx, x, explainer.Config{Methods: s.methods, Raw: s.save["npy"]})
	if err != nil {
		return err
	}
	defer m.Close()
	if s.class, err = checkClass(m, e, s.class); err != nil {
		return err
	}
	prog := newProgress(log, isTerminal(log), 0)
	opts := tfcam.ExplainOptions{Class: s.class, Colormap: s.colormap, Alpha: o.alpha, Quality: o.quality, OverlaySize: o.overlaySize,
		Outputs: tfcam.Outputs{Overlay: s.save["overlay"], OverlayPNG: o.overlayFormat == "png", ConceptAlpha: o.alpha,
			Map16: s.save["map16"], NPY: s.save["npy"], TFRecord: s.save["tfrecord"]},
		Batch: o.batch, Workers: o.workers, MaxFileBytes: int64(o.maxFileMB) << 20, Shard: s.shard, Force: o.force,
		Durable: o.durable, FlushEvery: o.flushEvery, Gallery: o.gallery, Seed: o.seed, Target: s.target, Stdin: stdin, Progress: prog, StopGrace: stopGrace,
		Planned: func(p tfcam.ExplainPlan) {
			fmt.Fprintf(log, "tfcam explain: %s, model %s, layer %s, methods %s, %s, %s\n",
				p, m.TF.Dir, e.Layer().Name, methodList(e), preprocessNote(m), deviceNote(m.TF))
			warnPreprocess(ctx, log, m, args)
			fmt.Fprintln(log, costLine(e, s.class, p))
			reportSkipped(log, e)
			for _, b := range p.Bad {
				fmt.Fprintln(log, engine.FailureLine("failed", b.Path, b.Err))
			}
			prog.Grow(p.Total - p.Skipped)
			prog.Add(0, len(p.Bad))
		}}
	run, err := m.ExplainInto(ctx, e, o.out, args, opts)
	var other *results.SettingsError
	if errors.As(err, &other) {
		return exitError{code: 2, cause: err, msg: err.Error() + ": explain into another --out, or add --force to redo these images with these settings (images not among them keep the old ones)"}
	}
	if err != nil {
		return interruptedError(err)
	}
	bucket := storage.IsURL(o.out) && !strings.HasPrefix(o.out, "file://")
	out := strings.TrimPrefix(o.out, "file://")
	fmt.Fprintf(log, "done: %d explained, %d already done, %d failed, of %d images in shard %s; outputs in %s",
		run.Done, run.Skipped, run.Failed, run.Total, s.shard, storage.WithoutQuery(out))
	if run.Flat > 0 {
		fmt.Fprintf(log, "; %d flat maps (no signal: \"flat\": true in results.jsonl)", run.Flat)
	}
	if o.gallery && !bucket {
		fmt.Fprintf(log, " (open %s)", filepath.Join(out, "index.html"))
	}
	fmt.Fprintln(log)
	switch {
	case run.Interrupted:
		return exitError{code: signalExitCode(), msg: fmt.Sprintf("interrupted after %d images%s; run the same command again to resume", run.Done, abandonedNote(run.Abandoned))}
	case run.Failed > 0:
		list := strings.TrimSuffix(storage.WithoutQuery(out), "/") + "/" + tfcam.FailedList
		return exitError{code: 1, msg: fmt.Sprintf("%d of %d images failed (see the messages above; listed in %s: once fixed, rerun with @%s)", run.Failed, run.Total, list, list)}
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func deviceNote(m *tfgraph.Model) string {
	if m.HasGPU() {
		return "GPU available"
	}
	return "CPU only"
}

// exitError carries a process exit code with its message.
type exitError struct {
	code  int
	msg   string
	cause error // for errors.Is/As through a configuration error
}

func (e exitError) Error() string { return e.msg }

func (e exitError) Unwrap() error { return e.cause }

// usageError marks a bad command line (exit code 2).
func usageError(msg string) error { return exitError{code: 2, msg: msg} }

// configError marks what goes wrong while a command starts — opening the
// model, its preset and labels, the layer, the target — as exit code 2:
// the configuration is wrong, and retrying cannot help (the Kubernetes
// Job template fails an index at once on exit 2 and retries exit 1). A
// cancelled context stays what it is.
func configError(err error) error {
	var ee exitError
	if err == nil || errors.As(err, &ee) || errors.Is(err, context.Canceled) {
		return err
	}
	return exitError{code: 2, msg: err.Error(), cause: err}
}

// mapSlice applies f to each element.
func mapSlice[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// storageHint says what an object-store URL needs from the environment.
func storageHint(url string) string {
	switch {
	case strings.HasPrefix(url, "azblob://"):
		return " (azblob:// needs AZURE_STORAGE_ACCOUNT, and AZURE_STORAGE_KEY or an Azure identity)"
	case strings.HasPrefix(url, "gs://"):
		return " (gs:// uses Google's default credentials: GOOGLE_APPLICATION_CREDENTIALS or the metadata server)"
	case strings.HasPrefix(url, "s3://"):
		return " (s3:// takes region, endpoint, use_path_style, profile, ... as query parameters; credentials from AWS_* variables, profiles or roles)"
	}
	return ""
}

// costLine says up front what explaining an image will cost, in forward
// passes, which methods make it dear and a cheaper method where one does
// the same job, and how many images go into each graph run.
func costLine(e *explainer.Explainer, class explainer.Class, p tfcam.ExplainPlan) string {
	var dear []string
	cheaper := ""
	for _, m := range e.Methods() {
		c := e.Cost(m)
		n := c.Copies + c.TailCopies
		if n < 64 {
			continue
		}
		dear = append(dear, fmt.Sprintf("%s %d", m.Name(), n))
		switch m.Name() {
		case "scorecam", "sscam", "iscam":
			cheaper = "; faster-scorecam scores only the 10 channels of largest variance (11 passes)"
		}
	}
	line := fmt.Sprintf("cost: %d forward pass(es) per image", p.PassesPerImage)
	if k := max(class.TopK, 1); k > 1 {
		line += fmt.Sprintf(" (%d classes)", k)
	}
	if len(dear) > 0 {
		line += fmt.Sprintf(", most for %s at layer %s%s; %d image(s) per graph run",
			strings.Join(dear, ", "), e.Layer().Name, cheaper, p.Batch)
	}
	return line
}
