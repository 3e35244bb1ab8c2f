package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/disintegration/imaging"
	"golang.org/x/term"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/internal/npy"
	"github.com/tfcam/tfcam/models"
	"github.com/tfcam/tfcam/render"
	"github.com/tfcam/tfcam/tfgraph"
)

// explainOptions are the flags of `tfcam explain`.
type explainOptions struct {
	modelFlags
	explainFlags
	methods    string
	class      string
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
}

func methodNames() string {
	var names []string
	for _, m := range explainer.Registry() {
		names = append(names, m.Name())
	}
	return strings.Join(names, ", ")
}

// methodHelp lists every method with the options a --method spec can set.
func methodHelp() string {
	var b strings.Builder
	b.WriteString(`Methods (--method, comma-separated; "all" is the gradient family, one
backward pass for all). Options follow a method as :key=value, e.g.
integrated-gradients:steps=64:baseline=blur, scorecam:variant=softmax,
faster-scorecam:topn=20. Shown as set by default (0 or empty: the default
below); the README says what each method and option does.
`)
	for _, m := range explainer.Registry() {
		if opts := explainer.Options(m); len(opts) > 0 {
			fmt.Fprintf(&b, "  %-22s %s\n", m.Name(), strings.Join(opts, " "))
		} else {
			fmt.Fprintf(&b, "  %s\n", m.Name())
		}
	}
	b.WriteString(`Defaults: smoothgrad, smoothgradcam++ samples=16 noise=0.15 (σ as a
fraction of the image's range; negative: none); integrated-gradients
steps=32 baseline=zero (zero, blur, noise); scorecam variant=prob (prob,
softmax) baseline=none (none, zero, blur) upsample=half-pixel (half-pixel,
corners: as tf-keras-vis); groupcam groups=32; clustercam clusters=10
iterations=10; cosinecam groups chosen by the k-means elbow, iterations=10.
`)
	return b.String()
}

func explainUsage(fs *flag.FlagSet) func() {
	return func() {
		fmt.Fprintf(fs.Output(), `Usage: tfcam explain --model DIR --out DIR [flags] INPUTS...

Explains each image with class-activation maps and writes, per image and
method, an overlay PNG, the map itself (16-bit PNG and/or .npy), a JSON
record, plus results.jsonl and an index.html gallery in --out.

INPUTS are image files, directories (searched recursively), globs, @list.txt
files (one path per line) or - (such a list on stdin).

Re-running skips images whose outputs exist (--force redoes them). Fan out
with --shard i/n, or as a Kubernetes Indexed Job (JOB_COMPLETION_INDEX and
--shard-count) or a Slurm array (SLURM_ARRAY_TASK_ID/COUNT). Ctrl-C finishes
the current batch and stops; run the same command again to resume.

%s
Flags:
`, methodHelp())
		fs.PrintDefaults()
	}
}

func runExplain(args []string) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	var o explainOptions
	o.modelFlags.register(fs)
	o.explainFlags.register(fs, "explain the probability instead of the logit (the input of a final softmax/sigmoid)")
	fs.StringVar(&o.methods, "method", "gradcam", "comma-separated methods with optional :key=value settings (see Methods above), or all: "+methodNames())
	fs.StringVar(&o.class, "class", "top1", "class to explain: top1, topK (e.g. top3: a map per class) or a class index")
	fs.StringVar(&o.out, "out", "", "output directory (required)")
	fs.IntVar(&o.batch, "batch", 32, "images per TensorFlow run")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "goroutines decoding and encoding images")
	fs.StringVar(&o.colormap, "colormap", "jet", "overlay colours: jet, turbo or viridis")
	fs.Float64Var(&o.alpha, "alpha", 0.5, "overlay opacity of the map, 0..1")
	fs.StringVar(&o.save, "save", "overlay,map16", "outputs per map: overlay (PNG over the original), map16 (16-bit grayscale PNG), npy (raw map, float32)")
	fs.BoolVar(&o.force, "force", false, "redo images whose outputs already exist")
	fs.StringVar(&o.shard, "shard", "", "process only shard i of n (i/n, 0-based)")
	fs.IntVar(&o.shardCount, "shard-count", 0, "number of shards, with JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID")
	fs.BoolVar(&o.gallery, "gallery", true, "write index.html in --out")
	fs.Usage = explainUsage(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.out == "" {
		return usageError("--out is required")
	}
	if fs.NArg() == 0 {
		return usageError("no inputs: give image files, directories, globs, @list.txt or -")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return explainRun(ctx, o, fs.Args(), os.Stdin, os.Stderr)
}

// runSettings is everything resolved before the first batch.
type runSettings struct {
	methods  []explainer.Method
	targets  explainer.Targets
	colormap render.Colormap
	save     map[string]bool
	shard    shard
}

// options returns the non-default settings of the method named name.
func (s runSettings) options(name string) []string {
	for _, m := range s.methods {
		if m.Name() != name {
			continue
		}
		var set []string
		for _, kv := range explainer.Options(m) {
			if _, v, _ := strings.Cut(kv, "="); v != "" && v != "0" && v != "false" {
				set = append(set, kv)
			}
		}
		return set
	}
	return nil
}

func (o explainOptions) resolve() (runSettings, error) {
	var s runSettings
	var err error
	if s.methods, err = explainer.ParseMethods(o.methods); err != nil {
		return s, usageError("--method: " + err.Error())
	}
	switch {
	case o.class == "" || o.class == "top1":
		s.targets = explainer.Top1()
	case strings.HasPrefix(o.class, "top"):
		k, err := strconv.Atoi(o.class[3:])
		if err != nil || k < 1 {
			return s, usageError(fmt.Sprintf("--class %q: want top1, topK with K >= 1, or a class index", o.class))
		}
		s.targets = explainer.TopK(k)
	default:
		if _, err := strconv.Atoi(o.class); err != nil {
			return s, usageError(fmt.Sprintf("--class %q: want top1, topK or a class index", o.class))
		}
	}
	if s.colormap, err = render.ParseColormap(o.colormap); err != nil {
		return s, usageError("--colormap: " + err.Error())
	}
	if o.alpha < 0 || o.alpha > 1 {
		return s, usageError(fmt.Sprintf("--alpha %g: want a value in [0, 1]", o.alpha))
	}
	if o.batch < 1 {
		return s, usageError("--batch must be at least 1")
	}
	s.save = map[string]bool{}
	for _, k := range strings.Split(o.save, ",") {
		k = strings.TrimSpace(k)
		switch k {
		case "overlay", "map16", "npy":
			s.save[k] = true
		case "":
		default:
			return s, usageError(fmt.Sprintf("--save %q: unknown output %q (overlay, map16, npy)", o.save, k))
		}
	}
	if s.shard, err = resolveShard(o.shard, o.shardCount, osEnv); err != nil {
		return s, usageError(err.Error())
	}
	return s, nil
}

// item is one image on its way through the pipeline.
type item struct {
	in      input
	img     image.Image // original, for the overlay
	pixels  []float32   // model input
	err     error
	decode  time.Duration
	explain time.Duration // its share of the batch's run
	res     explainer.Result
}

// summary counts a run's outcome.
type summary struct {
	total, skipped, done, failed int
	interrupted                  bool
}

func explainRun(ctx context.Context, o explainOptions, args []string, stdin io.Reader, log io.Writer) error {
	s, err := o.resolve()
	if err != nil {
		return err
	}
	inputs, err := expandInputs(args, stdin)
	if err != nil {
		return err
	}
	m, preset, pre, e, err := o.explainer(o.explainFlags, explainer.Config{Methods: s.methods, Raw: s.save["npy"]})
	if err != nil {
		return err
	}
	defer m.Close()
	if strings.TrimLeft(o.class, "0123456789") == "" && o.class != "" {
		c, _ := strconv.Atoi(o.class)
		if c >= e.Classes() {
			return usageError(fmt.Sprintf("--class %d: the model has %d classes (0..%d)", c, e.Classes(), e.Classes()-1))
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("creating --out %s: %w", o.out, err)
	}
	// Keep only this shard's images, and skip finished ones unless --force.
	var todo []input
	sum := summary{}
	for _, in := range inputs {
		if !s.shard.owns(in.Key) {
			continue
		}
		sum.total++
		if !o.force && fileExists(recordPath(o.out, in.Key)) {
			sum.skipped++
			continue
		}
		todo = append(todo, in)
	}
	h, w := e.InputSize()
	_, _, c := m.InputSize()
	fmt.Fprintf(log, "tfcam explain: %d images (shard %s: %d, %d already done), model %s, layer %s, methods %s, preprocess %s, %s\n",
		len(inputs), s.shard, sum.total, sum.skipped, m.Dir, e.Layer().Name, o.methods, pre, deviceNote(m))

	tty := false
	if f, ok := log.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	prog := newProgress(log, tty, len(todo))
	jsonl, err := openJSONL(o.out, s.shard)
	if err != nil {
		return err
	}
	defer jsonl.Close()

	w8 := &writer{o: o, s: s, preset: preset, e: e, log: prog, jsonl: jsonl, model: m.Dir}
	// Stage 1: decode and preprocess on worker goroutines.
	jobs := make(chan input)
	decoded := make(chan *item, 2*o.batch)
	// feeding stops on Ctrl-C, or when a TensorFlow run fails.
	feeding, stopFeeding := context.WithCancel(ctx)
	defer stopFeeding()
	go func() {
		defer close(jobs)
		for _, in := range todo {
			select {
			case jobs <- in:
			case <-feeding.Done():
				return
			}
		}
	}()
	var dwg sync.WaitGroup
	for i := 0; i < max(o.workers, 1); i++ {
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			for in := range jobs {
				decoded <- decodeItem(in, h, w, c, pre)
			}
		}()
	}
	go func() { dwg.Wait(); close(decoded) }()
	// Stage 3: encode and write on worker goroutines.
	encode := make(chan *item, 2*o.batch)
	var ewg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < max(o.workers, 1); i++ {
		ewg.Add(1)
		go func() {
			defer ewg.Done()
			for it := range encode {
				err := w8.write(it)
				mu.Lock()
				if err != nil {
					sum.failed++
					prog.note("failed %s: %v", it.in.Path, err)
					prog.add(0, 1)
				} else {
					sum.done++
					prog.add(1, 0)
				}
				mu.Unlock()
			}
		}()
	}
	// Stage 2: batches through the graph, here. A batch that has started
	// finishes even after Ctrl-C; the next one does not start.
	var batch []*item
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		defer func() { batch = batch[:0] }()
		pixels := make([]float32, 0, len(batch)*h*w*c)
		for _, it := range batch {
			pixels = append(pixels, it.pixels...)
			it.pixels = nil
		}
		targets := s.targets
		if n, err := strconv.Atoi(o.class); err == nil {
			cls := make([]int, len(batch))
			for i := range cls {
				cls[i] = n
			}
			targets = explainer.Classes(cls...)
		}
		start := time.Now()
		res, err := e.Explain(context.Background(), explainer.Batch{Pixels: pixels, N: len(batch)}, targets)
		if err != nil {
			return err
		}
		share := time.Since(start) / time.Duration(len(batch))
		for i, it := range batch {
			it.res, it.explain = res[i], share
			encode <- it
		}
		return nil
	}
	var runErr error
	for it := range decoded {
		if it.err != nil {
			mu.Lock()
			sum.failed++
			mu.Unlock()
			prog.note("skipped %s: %v", it.in.Path, it.err)
			prog.add(0, 1)
			continue
		}
		if ctx.Err() != nil {
			continue // drain: decoded after Ctrl-C, left for the next run
		}
		batch = append(batch, it)
		if len(batch) == o.batch {
			if runErr = flush(); runErr != nil {
				stopFeeding()
				break
			}
		}
	}
	if runErr == nil && ctx.Err() == nil {
		runErr = flush()
	}
	for range decoded { // unblock decoders after an error
	}
	close(encode)
	ewg.Wait()
	prog.finish()
	sum.interrupted = ctx.Err() != nil
	if runErr != nil {
		return runErr
	}
	if o.gallery {
		if err := writeGallery(o.out, m.Dir); err != nil {
			fmt.Fprintf(log, "warning: gallery: %v\n", err)
		}
	}
	fmt.Fprintf(log, "done: %d explained, %d skipped (already done), %d failed, of %d images in shard %s; outputs in %s",
		sum.done, sum.skipped, sum.failed, sum.total, s.shard, o.out)
	if o.gallery {
		fmt.Fprintf(log, " (open %s)", filepath.Join(o.out, "index.html"))
	}
	fmt.Fprintln(log)
	switch {
	case sum.interrupted:
		return exitError{130, fmt.Sprintf("interrupted after %d images; run the same command again to resume", sum.done)}
	case sum.failed > 0:
		return exitError{1, fmt.Sprintf("%d of %d images failed (see the messages above)", sum.failed, sum.total)}
	}
	return nil
}

func decodeItem(in input, h, w, c int, pre imagefile.Preprocess) *item {
	start := time.Now()
	it := &item{in: in}
	img, err := imagefile.Decode(in.Path)
	if err != nil {
		it.err = err
		return it
	}
	it.img = img
	it.pixels = make([]float32, h*w*c)
	if err := imagefile.ToTensor(img, w, h, c, pre, it.pixels); err != nil {
		it.err = fmt.Errorf("%s: %w", in.Path, err)
	}
	it.decode = time.Since(start)
	return it
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func deviceNote(m *tfgraph.Model) string {
	if m.HasGPU() {
		return "GPU available"
	}
	return "CPU only"
}

// exitError carries a process exit code with its message.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// usageError marks a bad command line (exit code 2).
func usageError(msg string) error { return exitError{2, msg} }

// record is one image's JSON line.
type record struct {
	Input       string             `json:"input"`
	Key         string             `json:"key"`
	Model       string             `json:"model"`
	Layer       string             `json:"layer"`
	Seed        int64              `json:"seed,omitempty"`
	Predictions []recordPrediction `json:"predictions"`
	Maps        []recordMap        `json:"maps"`
	Original    string             `json:"original,omitempty"`
	Width       int                `json:"width"`
	Height      int                `json:"height"`
	TimingsMS   map[string]float64 `json:"timings_ms"`
}

type recordPrediction struct {
	Class int     `json:"class"`
	Label string  `json:"label"`
	Score float32 `json:"score"`
}

type recordMap struct {
	Method string `json:"method"`
	// Options are the method's settings as in a --method spec ("steps=64").
	Options []string `json:"options,omitempty"`
	Class   int      `json:"class"`
	Label   string   `json:"label"`
	Rank    int      `json:"rank"`
	Score   float32  `json:"score"`
	Overlay string   `json:"overlay,omitempty"`
	Map16   string   `json:"map16,omitempty"`
	NPY     string   `json:"npy,omitempty"`
}

func recordPath(out, key string) string { return filepath.Join(out, key, "record.json") }

// writer writes one explained image's outputs.
type writer struct {
	o      explainOptions
	s      runSettings
	preset models.Preset
	e      *explainer.Explainer
	log    *progress
	jsonl  *jsonlFile
	model  string
}

func (w *writer) write(it *item) error {
	start := time.Now()
	dir := filepath.Join(w.o.out, it.in.Key)
	h, wd := w.e.InputSize()
	rec := record{Input: it.in.Path, Key: it.in.Key, Model: w.model, Layer: w.e.Layer().Name, Seed: w.o.seed,
		Width: it.img.Bounds().Dx(), Height: it.img.Bounds().Dy()}
	for _, p := range it.res.Predictions {
		rec.Predictions = append(rec.Predictions, recordPrediction{p.Class, w.preset.Label(p.Class), p.Score})
	}
	// A small copy of the original for the gallery.
	thumb := imaging.Fit(it.img, 512, 512, imaging.Linear)
	if err := render.WriteJPEG(filepath.Join(dir, "original.jpg"), thumb, 90); err != nil {
		return err
	}
	rec.Original = filepath.ToSlash(filepath.Join(it.in.Key, "original.jpg"))
	for _, maps := range it.res.Maps {
		for _, mp := range maps {
			name := safeName(mp.Method)
			if len(it.res.Maps) > 1 {
				name += fmt.Sprintf("-top%d", mp.Rank+1)
			}
			rm := recordMap{Method: mp.Method, Options: w.s.options(mp.Method), Class: mp.Class, Label: w.preset.Label(mp.Class), Rank: mp.Rank, Score: mp.Score}
			rel := func(ext string) string { return filepath.ToSlash(filepath.Join(it.in.Key, name+ext)) }
			if w.s.save["overlay"] {
				ov, err := render.Overlay(it.img, mp.Normalized, wd, h, w.s.colormap, w.o.alpha)
				if err != nil {
					return err
				}
				if err := render.WritePNG(filepath.Join(w.o.out, rel(".png")), ov); err != nil {
					return err
				}
				rm.Overlay = rel(".png")
			}
			if w.s.save["map16"] {
				g, err := render.Gray16(mp.Normalized, wd, h)
				if err != nil {
					return err
				}
				if err := render.WritePNG(filepath.Join(w.o.out, rel(".map16.png")), g); err != nil {
					return err
				}
				rm.Map16 = rel(".map16.png")
			}
			if w.s.save["npy"] {
				if err := npy.WriteFloat32File(filepath.Join(w.o.out, rel(".npy")), mp.Raw, []int{h, wd}); err != nil {
					return err
				}
				rm.NPY = rel(".npy")
			}
			rec.Maps = append(rec.Maps, rm)
		}
	}
	rec.TimingsMS = map[string]float64{
		"decode":  ms(it.decode),
		"explain": ms(it.explain),
		"encode":  ms(time.Since(start)),
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	// The record is written last: its presence marks the image as done.
	if err := render.WriteFileAtomic(recordPath(w.o.out, it.in.Key), func(f io.Writer) error {
		_, err := f.Write(append(line, '\n'))
		return err
	}); err != nil {
		return err
	}
	it.img = nil
	return w.jsonl.append(line)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// safeName turns a method name into a file name ("gradcam++" → "gradcampp").
func safeName(s string) string { return strings.ReplaceAll(s, "+", "p") }

// jsonlFile appends records to results.jsonl (one file per shard, so that
// shards never write the same file).
type jsonlFile struct {
	mu sync.Mutex
	f  *os.File
}

func openJSONL(out string, s shard) (*jsonlFile, error) {
	name := "results.jsonl"
	if s.Count > 1 {
		name = fmt.Sprintf("results-%05d-of-%05d.jsonl", s.Index, s.Count)
	}
	f, err := os.OpenFile(filepath.Join(out, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	return &jsonlFile{f: f}, nil
}

func (j *jsonlFile) append(line []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err := j.f.Write(append(line, '\n'))
	return err
}

func (j *jsonlFile) Close() error { return j.f.Close() }

// writeGallery builds index.html from every record.json under out, so that
// resumed and sharded runs show everything finished so far.
func writeGallery(out, model string) error {
	var images []render.GalleryImage
	err := filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "record.json" {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var rec record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		gi := render.GalleryImage{Input: rec.Input, Original: rec.Original}
		for _, p := range rec.Predictions {
			gi.Predictions = append(gi.Predictions, render.GalleryPrediction{Label: p.Label, Score: p.Score})
		}
		for _, mp := range rec.Maps {
			if mp.Overlay != "" {
				gi.Maps = append(gi.Maps, render.GalleryMap{Method: mp.Method, Class: fmt.Sprintf("%s (%d)", mp.Label, mp.Class), Overlay: mp.Overlay})
			}
		}
		images = append(images, gi)
		return nil
	})
	if err != nil {
		return err
	}
	return render.WriteGallery(out, "tfcam: "+filepath.Base(filepath.Dir(filepath.Clean(model)))+"/"+filepath.Base(model), images, 200)
}
