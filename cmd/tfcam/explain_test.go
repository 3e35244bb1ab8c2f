package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
	"github.com/tfcam/tfcam/results"
)

// writeShapesImages writes n evaluation images of the shapes fixture as PNG
// files under dir and returns their paths.
func writeShapesImages(t *testing.T, dir string, n int) []string {
	t.Helper()
	f := fixture.Load(t, "shapes")
	imgs := f.Array(t, "eval_images")
	h, w := imgs.Shape[1], imgs.Shape[2]
	var paths []string
	for i := 0; i < n; i++ {
		path := filepath.Join(dir, "imgs", "sub"+string(rune('a'+i%2)), "img"+string(rune('0'+i))+".png")
		writeRGBPNG(t, path, w, h, func(x, y int) [3]uint8 {
			p := imgs.F32[((i*h+y)*w+x)*3:]
			return [3]uint8{uint8(p[0]*255 + 0.5), uint8(p[1]*255 + 0.5), uint8(p[2]*255 + 0.5)}
		})
		paths = append(paths, path)
	}
	return paths
}

func explainOpts(out string) explainOptions {
	f := fixture.Root()
	return explainOptions{
		modelFlags: modelFlags{model: filepath.Join(f, "shapes", "model"), device: "auto"},
		methods:    "gradcam,gradcam++:normalizealpha=true,hirescam,guided-gradcam", class: "top1", out: out, batch: 3, workers: 2,
		colormap: "jet", alpha: 0.5, save: "overlay,map16,npy", gallery: true,
		overlaySize: 1024, overlayFormat: "png", quality: 90, maxFileMB: 256,
	}
}

func readJSONL(t *testing.T, path string) []results.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []results.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r results.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: invalid JSON line %q: %v", path, sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestExplainEndToEnd(t *testing.T) {
	dir := t.TempDir()
	good := writeShapesImages(t, dir, 7)
	bad := map[string][]byte{
		"zero.png":      {},
		"text.jpg":      []byte("this is not an image"),
		"truncated.png": nil, // filled below
	}
	raw, _ := os.ReadFile(good[0])
	bad["truncated.png"] = raw[:len(raw)/2]
	for name, body := range bad {
		os.WriteFile(filepath.Join(dir, "imgs", name), body, 0o644)
	}
	out := filepath.Join(dir, "out")
	var log strings.Builder
	err := explainRun(context.Background(), explainOpts(out), []string{filepath.Join(dir, "imgs"), filepath.Join(dir, "imgs", "text.jpg")}, nil, &log)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), "3 of 10 images failed") {
		t.Fatalf("run with 3 bad files: %v\n%s", err, log.String())
	}
	for name := range bad {
		if !strings.Contains(log.String(), name) {
			t.Errorf("bad file %s not reported:\n%s", name, log.String())
		}
	}
	// One set of counts and words: the plan, the progress and the summary
	// give the same total, and what failed is called failed, never
	// skipped (which says "already done").
	for _, want := range []string{"shard 0/1: 10,", "10/10 images", "3 failed", "of 10 images", "7 explained, 0 already done, 3 failed"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	if strings.Contains(log.String(), "skipped") {
		t.Errorf("a failure reported as skipped:\n%s", log.String())
	}
	// failed.txt lists the failed inputs, usable as an @list.
	list, err := os.ReadFile(filepath.Join(out, "failed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, l := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		failed = append(failed, filepath.Base(l))
	}
	slices.Sort(failed)
	if want := []string{"text.jpg", "truncated.png", "zero.png"}; !slices.Equal(failed, want) {
		t.Errorf("failed.txt lists %q, want %q", failed, want)
	}
	recs := readJSONL(t, filepath.Join(out, "results.jsonl"))
	if len(recs) != len(good) {
		t.Fatalf("%d JSONL records, want %d", len(recs), len(good))
	}
	for _, r := range recs {
		if len(r.Predictions) == 0 || len(r.Maps) != 4 || r.Layer != "last_conv" {
			t.Errorf("record %+v incomplete", r)
		}
		for _, m := range r.Maps {
			wantOpts := 0
			if m.Method == "gradcam++norm" {
				wantOpts = 1
				if len(m.Options) != 1 || m.Options[0] != "normalizealpha=true" {
					t.Errorf("%s: %s options %q, want [normalizealpha=true]", r.Input, m.Method, m.Options)
				}
			}
			if len(m.Options) != wantOpts {
				t.Errorf("%s: %s options %q", r.Input, m.Method, m.Options)
			}
			for _, p := range []string{m.Overlay, m.Map16, m.NPY} {
				if p == "" {
					t.Errorf("%s: %s output missing from record", r.Input, m.Method)
					continue
				}
				if strings.HasSuffix(p, ".png") {
					fh, err := os.Open(filepath.Join(out, p))
					if err != nil {
						t.Fatal(err)
					}
					img, err := png.Decode(fh)
					fh.Close()
					if err != nil {
						t.Fatalf("%s does not decode: %v", p, err)
					}
					if strings.HasSuffix(p, ".map16.png") {
						if _, ok := img.(*image.Gray16); !ok {
							t.Errorf("%s is %T, want 16-bit gray", p, img)
						}
					} else if img.Bounds().Dx() != r.Width || img.Bounds().Dy() != r.Height {
						t.Errorf("overlay %s is %v, original %dx%d", p, img.Bounds(), r.Width, r.Height)
					}
				}
			}
		}
	}
	if _, err := os.Stat(filepath.Join(out, "index.html")); err != nil {
		t.Errorf("no gallery: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(out, "*", "*", ".*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// Resume: a second run skips every finished image and adds no records.
	log.Reset()
	err = explainRun(context.Background(), explainOpts(out), []string{filepath.Join(dir, "imgs")}, nil, &log)
	if !strings.Contains(log.String(), "7 already done") {
		t.Errorf("resume did not skip the 7 finished images: %v\n%s", err, log.String())
	}
	if n := len(readJSONL(t, filepath.Join(out, "results.jsonl"))); n != len(good) {
		t.Errorf("resume appended records: %d lines", n)
	}
	// --force redoes them.
	o := explainOpts(out)
	o.force = true
	log.Reset()
	explainRun(context.Background(), o, good, nil, &log)
	if !strings.Contains(log.String(), "done: 7 explained") {
		t.Errorf("--force did not redo the images:\n%s", log.String())
	}
}

func TestExplainShards(t *testing.T) {
	dir := t.TempDir()
	good := writeShapesImages(t, dir, 9)
	seen := map[string]int{}
	for i := 0; i < 3; i++ {
		o := explainOpts(filepath.Join(dir, "out"))
		o.shard = []string{"0/3", "1/3", "2/3"}[i]
		o.methods = "gradcam"
		o.save = "map16"
		var log strings.Builder
		if err := explainRun(context.Background(), o, []string{filepath.Join(dir, "imgs")}, nil, &log); err != nil {
			t.Fatalf("shard %s: %v\n%s", o.shard, err, log.String())
		}
		for _, r := range readJSONL(t, filepath.Join(dir, "out", "results-0000"+string(rune('0'+i))+"-of-00003.jsonl")) {
			seen[r.Input]++
		}
	}
	if len(seen) != len(good) {
		t.Errorf("shards covered %d of %d images", len(seen), len(good))
	}
	for in, n := range seen {
		if n != 1 {
			t.Errorf("%s explained by %d shards", in, n)
		}
	}
}

func TestExplainUsageErrors(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 1)
	cases := []struct {
		name string
		edit func(*explainOptions)
		want string
	}{
		{"bad method", func(o *explainOptions) { o.methods = "gradcam,nope" }, `unknown method "nope"`},
		{"bad method option", func(o *explainOptions) { o.methods = "scorecam:basline=zero" }, `unknown option "basline" (scorecam has: variant, baseline, upsample, topn)`},
		{"bad method option value", func(o *explainOptions) { o.methods = "scorecam:baseline=grey" }, `method scorecam: option baseline="grey": want none, zero, blur`},
		{"bad class", func(o *explainOptions) { o.class = "best" }, `--class "best"`},
		{"class out of range", func(o *explainOptions) { o.class = "4" }, "the model has 4 classes"},
		{"bad layer", func(o *explainOptions) { o.layer = "last_cnv" }, `did you mean "last_conv"`},
		{"bad colormap", func(o *explainOptions) { o.colormap = "rainbow" }, "--colormap"},
		{"bad save", func(o *explainOptions) { o.save = "overlay,pdf" }, `unknown output "pdf"`},
		{"bad device", func(o *explainOptions) { o.device = "tpu" }, `--device "tpu"`},
		{"bad preprocess", func(o *explainOptions) { o.preprocess = "imagenet" }, "--preprocess"},
		{"no model", func(o *explainOptions) { o.model = filepath.Join(dir, "nomodel") }, "nomodel"},
		{"unknown target", func(o *explainOptions) { o.target = "segment" }, `--target "segment": unknown target`},
		{"unknown target option", func(o *explainOptions) { o.target = "contrast:klass=2" }, `unknown option "klass" (contrast takes: class)`},
		{"regression sign", func(o *explainOptions) { o.target = "regression:sign=2" }, "sign: want 1 or -1"},
		{"embedding without ref", func(o *explainOptions) { o.target = "embedding" }, "embedding needs ref="},
		{"region on class scores", func(o *explainOptions) { o.target = "region" }, "--target: explainer: target region reads"},
		{"region names the shape", func(o *explainOptions) { o.target = "region" }, "of shape [-1 4]; it needs a segmentation output"},
		{"regression on class scores", func(o *explainOptions) { o.target = "regression" }, "needs a single output per image, [N] or [N,1]"},
		{"contrast class out of range", func(o *explainOptions) { o.target = "contrast:class=4" }, "a contrast class in [0, 4)"},
		{"missing mask file", func(o *explainOptions) { o.target = "region:mask=" + filepath.Join(dir, "nomask.png") }, "nomask.png"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := explainOpts(filepath.Join(dir, "out"))
			c.edit(&o)
			var log strings.Builder
			err := explainRun(context.Background(), o, paths, nil, &log)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestExplainInterrupted(t *testing.T) {
	dir := t.TempDir()
	writeShapesImages(t, dir, 6)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C before anything started
	var log strings.Builder
	err := explainRun(ctx, explainOpts(filepath.Join(dir, "out")), []string{filepath.Join(dir, "imgs")}, nil, &log)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 130 || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("interrupted run: %v\n%s", err, log.String())
	}
	// Resuming finishes the job.
	log.Reset()
	if err := explainRun(context.Background(), explainOpts(filepath.Join(dir, "out")), []string{filepath.Join(dir, "imgs")}, nil, &log); err != nil {
		t.Fatalf("resume: %v\n%s", err, log.String())
	}
	if n := len(readJSONL(t, filepath.Join(dir, "out", "results.jsonl"))); n != 6 {
		t.Errorf("%d records after resume, want 6", n)
	}
}

// TestExplainSeed: --seed reaches the randomised methods: the same seed
// writes the same map, another seed a different one.
func TestExplainSeed(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 1)
	run := func(seed int64, out string) []float32 {
		o := explainOpts(filepath.Join(dir, out))
		o.methods, o.seed, o.save = "smoothgrad:samples=2", seed, "npy"
		var log strings.Builder
		if err := explainRun(context.Background(), o, paths, nil, &log); err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, log.String())
		}
		recs := readJSONL(t, filepath.Join(o.out, "results.jsonl"))
		if len(recs) != 1 || len(recs[0].Maps) != 1 || recs[0].Seed != seed {
			t.Fatalf("seed %d: records %+v", seed, recs)
		}
		a, err := npy.ReadFile(filepath.Join(o.out, recs[0].Maps[0].NPY))
		if err != nil {
			t.Fatal(err)
		}
		return a.F32
	}
	a, b, c := run(1, "a"), run(1, "b"), run(2, "c")
	if !slices.Equal(a, b) {
		t.Error("seed 1 twice: different maps")
	}
	if slices.Equal(a, c) {
		t.Error("seeds 1 and 2: identical maps")
	}
}

// TestExplainMaxTensor: --max-tensor-mb 1 makes Score-CAM on the shapes
// model run its 64 copies per image in sequential chunks; the maps are the
// ones of an unbounded run.
func TestExplainMaxTensor(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 3)
	run := func(mb int, out string) map[string][]float32 {
		o := explainOpts(filepath.Join(dir, out))
		o.methods, o.maxTensor, o.save = "scorecam", mb, "npy"
		var log strings.Builder
		if err := explainRun(context.Background(), o, paths, nil, &log); err != nil {
			t.Fatalf("--max-tensor-mb %d: %v\n%s", mb, err, log.String())
		}
		maps := map[string][]float32{}
		for _, r := range readJSONL(t, filepath.Join(o.out, "results.jsonl")) {
			a, err := npy.ReadFile(filepath.Join(o.out, r.Maps[0].NPY))
			if err != nil {
				t.Fatal(err)
			}
			maps[r.Input] = a.F32
		}
		return maps
	}
	a, b := run(0, "unbounded"), run(1, "bounded")
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("%d and %d maps", len(a), len(b))
	}
	for in := range a {
		// Relative to the map's largest value: the chunked run sums the
		// same float32 terms in another order (measured ≤ 2e-6 relative).
		scale := 0.0
		for _, v := range a[in] {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		if d := fixture.MaxAbsDiff(a[in], b[in]) / scale; d > 1e-5 || b[in] == nil {
			t.Errorf("%s: bounded run differs by %g of the map's largest value %g", in, d, scale)
		} else {
			t.Logf("%s: bounded run differs by %.2g of %g", in, d, scale)
		}
	}
}

// TestExplainFlagsBeforeModel: every flag that can be checked without the
// model is refused as a usage error (exit code 2) before it loads — the
// model path here does not exist, so reaching the load would say so.
func TestExplainFlagsBeforeModel(t *testing.T) {
	cases := []struct {
		name string
		edit func(*explainOptions)
		want string
	}{
		{"batch 0", func(o *explainOptions) { o.batch = 0 }, "--batch 0"},
		{"huge batch", func(o *explainOptions) { o.batch = 99999999999 }, "--batch 99999999999"},
		{"workers 0", func(o *explainOptions) { o.workers = 0 }, "--workers 0"},
		{"threads -1", func(o *explainOptions) { o.threads = -1 }, "--threads -1"},
		{"max-tensor-mb -5", func(o *explainOptions) { o.maxTensor = -5 }, "--max-tensor-mb -5"},
		{"max-tensor-mb 100000", func(o *explainOptions) { o.maxTensor = 100000 }, "--max-tensor-mb 100000"},
		{"max-file-mb 0", func(o *explainOptions) { o.maxFileMB = 0 }, "--max-file-mb 0"},
		{"alpha NaN", func(o *explainOptions) { o.alpha = math.NaN() }, "--alpha NaN"},
		{"alpha 2", func(o *explainOptions) { o.alpha = 2 }, "--alpha 2"},
		{"class -1", func(o *explainOptions) { o.class = "-1" }, `--class "-1"`},
		{"class top0", func(o *explainOptions) { o.class = "top0" }, `--class "top0"`},
		{"overlay format", func(o *explainOptions) { o.overlayFormat = "gif" }, `--overlay-format "gif"`},
		{"overlay size", func(o *explainOptions) { o.overlaySize = -1 }, "--overlay-size -1"},
		{"quality", func(o *explainOptions) { o.quality = 0 }, "--quality 0"},
		{"steps -4", func(o *explainOptions) { o.methods = "integrated-gradients:steps=-4" }, "steps"},
		{"variant bogus", func(o *explainOptions) { o.methods = "scorecam:variant=bogus" }, "variant"},
		{"bad shard", func(o *explainOptions) { o.shard = "3/2" }, "shard 3 of 2"},
		{"flush-every", func(o *explainOptions) { o.flushEvery = -time.Second }, "--flush-every -1s"},
		{"dff to tfrecord", func(o *explainOptions) { o.methods = "gradcam,dff"; o.save = "map16,tfrecord" }, "--save tfrecord: method dff writes several concept maps"},
		{"dff concepts", func(o *explainOptions) { o.methods = "dff:concepts=0.5" }, `option concepts="0.5"`},
		{"dff iterations", func(o *explainOptions) { o.methods = "dff:iterations=9000" }, "iterations=9000: want 0 (the default) or 1 to 1000"},
		{"out URL option", func(o *explainOptions) { o.out = "s3://b/p/?bogus=1" }, `unknown query parameter "bogus"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := explainOpts(filepath.Join(t.TempDir(), "out"))
			o.model = filepath.Join(t.TempDir(), "no-such-model")
			c.edit(&o)
			err := explainRun(context.Background(), o, []string{"x.jpg"}, nil, io.Discard)
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want a usage error (2) with %q", err, c.want)
			}
		})
	}
}

// TestExplainTargets: --target reaches the explainer, and embedding:ref=IMAGE
// embeds the reference image with the run's own preprocessing — explained
// against itself, an image scores cos(e, e) = 1, and another image less;
// one column, so top2 is refused naming the target.
func TestExplainTargets(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 2)
	mh := filepath.Join(fixture.Root(), "multihead", "model")
	for _, c := range []struct {
		name, target, output, class string
		want                        func(t *testing.T, recs []results.Record, err error)
	}{
		{"embedding self", "embedding:ref=" + paths[0], "output_2", "top1", func(t *testing.T, recs []results.Record, err error) {
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				// What was explained, and what the scores are: not a class.
				if !strings.HasPrefix(r.Target, "embedding:ref=") || r.PredictionScore != "target score" || r.MapScore != "target score" ||
					!strings.Contains(r.Maps[0].Label, "column 0") || !strings.Contains(r.Predictions[0].Label, "column 0") {
					t.Errorf("%s: target %q, scores %q/%q, labels %q/%q: want the target named, its column labelled, no class name",
						r.Input, r.Target, r.PredictionScore, r.MapScore, r.Predictions[0].Label, r.Maps[0].Label)
				}
				s := r.Maps[0].Score
				self := r.Input == paths[0]
				if self && math.Abs(float64(s)-1) > 1e-6 || !self && s > 1-1e-6 {
					t.Errorf("%s: cosine to %s = %.7f", r.Input, paths[0], s)
				}
			}
		}},
		{"embedding top2", "embedding:ref=" + paths[0], "output_2", "top2", func(t *testing.T, _ []results.Record, err error) {
			if err == nil || !strings.Contains(err.Error(), "with --target embedding, which scores 1 classes") {
				t.Errorf("error %v", err)
			}
		}},
		{"region on seg", "region", "output_0", "top1", func(t *testing.T, recs []results.Record, err error) {
			if err != nil || len(recs) != 2 || len(recs[0].Predictions) != 3 {
				t.Fatalf("%v %+v", err, recs)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := explainOpts(filepath.Join(t.TempDir(), "out"))
			o.model, o.output, o.target, o.class, o.layer, o.methods = mh, c.output, c.target, c.class, "last_conv", "gradcam"
			var log strings.Builder
			err := explainRun(context.Background(), o, paths, nil, &log)
			var recs []results.Record
			if err == nil {
				recs = readJSONL(t, filepath.Join(o.out, "results.jsonl"))
			}
			c.want(t, recs, err)
		})
	}
}

// TestConfigErrorsExit2: what is wrong at start-up — the model path, the
// labels, the signature, the tags, the layer, a size the model does not
// take — is a configuration error, exit code 2 (not retried by the
// Kubernetes Job template), in explain and serve alike.
func TestConfigErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 1)
	notModel := filepath.Join(dir, "a_file.txt")
	os.WriteFile(notModel, []byte("x"), 0o644)
	shapes := explainOpts("").model
	for _, c := range []struct {
		name string
		set  func(f *modelFlags, x *explainFlags)
	}{
		{"no such model", func(f *modelFlags, _ *explainFlags) { f.model = filepath.Join(dir, "nonexistent") }},
		{"a file as model", func(f *modelFlags, _ *explainFlags) { f.model = notModel }},
		{"no such labels", func(f *modelFlags, _ *explainFlags) { f.labels = filepath.Join(dir, "nonexistent.txt") }},
		{"no such signature", func(f *modelFlags, _ *explainFlags) { f.signature = "nope" }},
		{"no such tags", func(f *modelFlags, _ *explainFlags) { f.tags = "nope" }},
		{"no such layer", func(_ *modelFlags, x *explainFlags) { x.layer = "no_such_layer" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := explainOpts(filepath.Join(dir, "out"))
			o.model = shapes
			c.set(&o.modelFlags, &o.explainFlags)
			err := explainRun(context.Background(), o, paths, nil, io.Discard)
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 2 {
				t.Errorf("explain: %v, want exit code 2", err)
			}
			so := serveOptions{modelFlags: o.modelFlags, explainFlags: o.explainFlags, method: "gradcam", class: "top1",
				addr: "127.0.0.1:0", maxBatch: 4, batchTimeout: time.Millisecond, requestTimeout: time.Second, maxBodyMB: 1,
				workers: 1, overlaySize: 64, colormap: "jet", alpha: 0.5, quality: 90, maxMethodLists: 4}
			err = serveRun(t.Context(), so, io.Discard, func(string) { t.Error("serve started") })
			if !errors.As(err, &ee) || ee.code != 2 {
				t.Errorf("serve: %v, want exit code 2", err)
			}
		})
	}
}

// TestExplainOtherSettings: explaining into an --out made with other
// settings (another method) is refused with exit 2 naming the change,
// before any image is explained; --force redoes the images with the new
// settings; the same settings again resume.
func TestExplainOtherSettings(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 2)
	out := filepath.Join(dir, "out")
	o := explainOpts(out)
	o.methods, o.save = "gradcam", "map16"
	var log bytes.Buffer
	if err := explainRun(context.Background(), o, paths, nil, &log); err != nil {
		t.Fatal(err)
	}
	// Under the class scores: no target, class labels, named scores.
	for _, r := range readJSONL(t, filepath.Join(out, "results.jsonl")) {
		if r.Target != "" || r.PredictionScore != "model output" || r.MapScore != "logit" || strings.Contains(r.Maps[0].Label, "column") {
			t.Errorf("%s: target %q, scores %q/%q, label %q", r.Input, r.Target, r.PredictionScore, r.MapScore, r.Maps[0].Label)
		}
	}
	o.methods = "layercam"
	err := explainRun(context.Background(), o, paths, nil, &log)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "methods [gradcam] → [layercam]") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("other method on the same --out: %v, want exit 2 naming the change and --force", err)
	}
	key := filepath.Base(paths[0])
	if _, err := os.Stat(filepath.Join(out, key, "layercam.map16.png")); err == nil {
		t.Error("the refused run wrote a layercam map")
	}
	o.force = true
	if err := explainRun(context.Background(), o, paths, nil, &log); err != nil {
		t.Fatalf("--force: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, key, "layercam.map16.png")); err != nil {
		t.Errorf("--force wrote no layercam map: %v", err)
	}
	o.force = false
	log.Reset()
	if err := explainRun(context.Background(), o, paths, nil, &log); err != nil || !strings.Contains(log.String(), "2 already done") {
		t.Errorf("the same settings again: %v, want both skipped:\n%s", err, log.String())
	}
}

// TestExplainOutInsideInputs: with --out inside the input folder, a rerun
// (the way to resume) does not take tfcam's own outputs for inputs: the
// same images are found, all already done, and no maps/maps/… appear.
func TestExplainOutInsideInputs(t *testing.T) {
	dir := t.TempDir()
	writeShapesImages(t, dir, 2)
	out := filepath.Join(dir, "maps")
	o := explainOpts(out)
	o.methods, o.save = "gradcam", "overlay,map16"
	for run := 1; run <= 2; run++ {
		var log bytes.Buffer
		if err := explainRun(context.Background(), o, []string{dir}, nil, &log); err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, log.String())
		}
		if run == 2 && (!strings.Contains(log.String(), "2 already done") || !strings.Contains(log.String(), "tfcam's own outputs, left out")) {
			t.Errorf("rerun: want the 2 images skipped as done and the outputs left out:\n%s", log.String())
		}
	}
	if _, err := os.Stat(filepath.Join(out, "maps")); err == nil {
		t.Error("maps/maps exists: the rerun explained its own outputs")
	}
}
