package tfcam_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
)

// exportCase is a model and methods to export and compare.
type exportCase struct {
	name    string
	model   string // SavedModel folder
	inputs  []float32
	n       int
	jpegs   []string // the serving input of an encoded-image model
	methods string
	cfg     explainer.Config
}

// TestExportMatchesExplain: a `tfcam export` SavedModel, run by Python's
// TensorFlow (scripts/export_check.py: tf.saved_model.load's signatures;
// on the first fixture also a tf.data map over them and Keras'
// TFSMLayer), gives tfcam's Explain
// results on the same inputs — predictions, explained class and score, and
// every map to 1e-5 plus its conditioning term (the same graph on the
// same kernels: what is left is the thread pools' reduction order,
// relative to the raw map's magnitude; fixture.RoundingTerm) — and its serving_default gives the
// original SavedModel's outputs. Fixtures: a ReLU CNN (with RISE's seeded
// masks), an EfficientNet-style, a ViT, a uint8 model (with Score-CAM's
// copies in chunks) and an encoded-image model, and the pretrained demo
// model on its photos.
func TestExportMatchesExplain(t *testing.T) {
	var cases []exportCase
	for _, c := range []struct{ fixture, methods string }{
		{"resnet", "gradcam,gradcam++,scorecam,rise:samples=64,integrated-gradients"},
		{"efficientnet", "gradcam,layercam,smoothgrad:samples=4"},
		{"vit", "gradcam"},
		{"uint8_input", "gradcam,scorecam"},
		{"string_input", "gradcam,hirescam"},
	} {
		f := fixture.Load(t, c.fixture)
		in := f.Array(t, "inputs")
		ec := exportCase{name: c.fixture, model: f.ModelDir, inputs: in.F32, n: in.Shape[0], methods: c.methods}
		if c.fixture == "uint8_input" {
			// Score-CAM's copies in chunks: the export unrolls them.
			ec.cfg.MaxTensorElements = 1 << 15
		}
		if c.fixture == "string_input" {
			jpegs, err := filepath.Glob(filepath.Join(f.Dir, "jpeg", "*.jpg"))
			if err != nil || len(jpegs) == 0 {
				t.Fatalf("string_input: no JPEGs (%v)", err)
			}
			sort.Strings(jpegs)
			ec.jpegs = jpegs
		}
		cases = append(cases, ec)
	}
	cases = append(cases, demoExportCase(t))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms, err := explainer.ParseMethods(c.methods)
			if err != nil {
				t.Fatal(err)
			}
			cfg := c.cfg
			cfg.Methods = ms
			cfg.Raw = true
			want, second := explainInGo(t, c, cfg)
			m, err := tfcam.Open(c.model, tfcam.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			dir := filepath.Join(t.TempDir(), "export")
			x, err := m.Export(context.Background(), cfg, dir, tfcam.ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			h, w, ch := m.TF.InputSize()
			work := t.TempDir()
			if err := npy.WriteFloat32File(filepath.Join(work, "inputs.npy"), m.TF.RoundPixels(c.inputs), []int{c.n, h, w, ch}); err != nil {
				t.Fatal(err)
			}
			// explain_class: image 0's top-1 by −1, the others their
			// second-best class.
			classes := make([]float32, c.n)
			classes[0] = -1
			for i := 1; i < c.n; i++ {
				classes[i] = float32(second[i])
			}
			if err := npy.WriteFloat32File(filepath.Join(work, "classes.npy"), classes, []int{c.n}); err != nil {
				t.Fatal(err)
			}
			// Every way of calling the export on the first model; the
			// signatures themselves on the others.
			ways := []string{"explain", "class"}
			if c.name == "resnet" {
				ways = append(ways, "tfdata", "tfsm")
			}
			out := filepath.Join(work, "out")
			fixture.Python(t, "export_check.py", append([]string{"--ways=" + strings.Join(ways, ","), dir, c.model, filepath.Join(work, "inputs.npy"), filepath.Join(work, "classes.npy"), out}, c.jpegs...)...)
			read := func(name string) []float32 {
				t.Helper()
				a, err := npy.ReadFile(filepath.Join(out, name+".npy"))
				if err != nil {
					t.Fatal(err)
				}
				return a.F32
			}
			for _, way := range ways {
				if way == "class" {
					compareExport(t, way, x, want.chosen, read)
				} else {
					compareExport(t, way, x, want.top1, read)
				}
			}
			// serving_default is the original's.
			for _, key := range servingKeys(t, out) {
				if d := fixture.MaxAbsDiff(read("serving_"+key), read("original_"+key)); d > 0 {
					t.Errorf("serving_default %s differs from the original's by %g", key, d)
				}
			}
		})
	}
}

// goResults are Explain's results of the top-1 classes and of the classes
// explain_class is fed.
type goResults struct{ top1, chosen []explainer.Result }

// explainInGo explains c's inputs with tfcam, for the top-1 class and for
// image 0's top-1 and the others' second-best classes, and returns them
// with each image's second-best class.
func explainInGo(t *testing.T, c exportCase, cfg explainer.Config) (goResults, []int) {
	t.Helper()
	m, err := tfcam.Open(c.model, tfcam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e, err := m.Explainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	top1, err := e.Explain(ctx, explainer.Batch{Pixels: c.inputs, N: c.n}, explainer.Top1())
	if err != nil {
		t.Fatal(err)
	}
	second := make([]int, c.n)
	classes := make([]int, c.n)
	for i, r := range top1 {
		second[i] = r.Predictions[1].Class
		classes[i] = second[i]
	}
	classes[0] = top1[0].Predictions[0].Class
	chosen, err := e.Explain(ctx, explainer.Batch{Pixels: c.inputs, N: c.n}, explainer.Classes(classes...))
	if err != nil {
		t.Fatal(err)
	}
	return goResults{top1, chosen}, second
}

// compareExport checks one way of running the export (its outputs are
// prefix_KEY) against Explain's results.
func compareExport(t *testing.T, prefix string, x tfcam.Export, want []explainer.Result, read func(string) []float32) {
	t.Helper()
	const tol = 1e-5
	var preds, class, score []float32
	for _, r := range want {
		for _, p := range r.Predictions {
			preds = append(preds, p.Score)
		}
		class = append(class, float32(r.Maps[0][0].Class))
		score = append(score, r.Maps[0][0].Score)
	}
	var largest float64 // of the normalised maps
	check := func(what string, got, want []float32, tol float64) {
		t.Helper()
		d := fixture.MaxAbsDiff(got, want)
		if d > tol {
			t.Errorf("%s %s: differs from Explain's by %g (> %g)", prefix, what, d, tol)
		}
		if strings.HasPrefix(what, "map_") {
			largest = max(largest, d)
		}
	}
	defer func() { t.Logf("%s: maps within %.2g of Explain's", prefix, largest) }()
	check("predictions", read(prefix+"_predictions"), preds, tol)
	check("class", read(prefix+"_class"), class, 0)
	check("score", read(prefix+"_score"), score, tol)
	for j, key := range x.MapKeys {
		got, gotRaw := read(prefix+"_"+key), read(prefix+"_"+x.RawKeys[j])
		hw := len(got) / len(want)
		if len(got) != len(want)*len(want[0].Maps[0][j].Normalized) || len(gotRaw) != len(got) {
			t.Errorf("%s %s: %d and %d values for %d images", prefix, key, len(got), len(gotRaw), len(want))
			continue
		}
		for i, r := range want {
			mp := r.Maps[0][j]
			// Rounding of the raw values, relative to their magnitude,
			// grows by magnitude/range once normalised (fixture's
			// conditioning).
			cond := fixture.RoundingTerm(fixture.MaxAbs(mp.Raw), fixture.Span(mp.Raw))
			check(fmt.Sprintf("%s of image %d", key, i), got[i*hw:(i+1)*hw], mp.Normalized, tol+cond)
			check(fmt.Sprintf("%s of image %d", x.RawKeys[j], i), gotRaw[i*hw:(i+1)*hw], mp.Raw, tol*fixture.MaxAbs(mp.Raw))
		}
	}
}

// servingKeys are the serving_default outputs export_check.py wrote.
func servingKeys(t *testing.T, out string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(out, "original_*.npy"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no serving_default outputs in %s (%v)", out, err)
	}
	var keys []string
	for _, n := range names {
		b := filepath.Base(n)
		keys = append(keys, b[len("original_"):len(b)-len(".npy")])
	}
	return keys
}

// demoExportCase is the pretrained demo model on its two photos.
func demoExportCase(t *testing.T) exportCase {
	t.Helper()
	dir := fixture.DemoDir()
	m, err := tfcam.Open(filepath.Join(dir, "model"), tfcam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dec, err := m.Decoder(0)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	c := exportCase{name: "efficientnet_lite0", model: filepath.Join(dir, "model"), methods: "gradcam,gradcam++,layercam"}
	for _, photo := range []string{"chelsea.png", "coffee.png"} {
		data, err := os.ReadFile(filepath.Join(dir, "photos", photo))
		if err != nil {
			t.Fatal(err)
		}
		img, err := dec.Decode(context.Background(), data, photo)
		if err != nil {
			t.Fatal(err)
		}
		c.inputs = append(c.inputs, img.Pixels...)
		c.n++
		img.Release()
	}
	return c
}

// TestExportRefuses: an existing folder is kept unless Force, and with
// Force only a SavedModel is replaced; nothing is left beside it.
func TestExportRefuses(t *testing.T) {
	f := fixture.Load(t, "resnet")
	cfg := explainer.Config{Methods: []explainer.Method{explainer.GradCAM{}}}
	export := func(dir string, force bool) error {
		m, err := tfcam.Open(f.ModelDir, tfcam.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		_, err = m.Export(context.Background(), cfg, dir, tfcam.ExportOptions{Force: force})
		return err
	}
	root := t.TempDir()
	dir := filepath.Join(root, "x")
	if err := export(dir, false); err != nil {
		t.Fatal(err)
	}
	if err := export(dir, false); !errors.Is(err, tfcam.ErrExportExists) {
		t.Errorf("export over an export: %v, want ErrExportExists", err)
	}
	if err := export(dir, true); err != nil {
		t.Errorf("export --force over an export: %v", err)
	}
	other := filepath.Join(root, "notes")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := export(other, true); !errors.Is(err, tfcam.ErrExportExists) {
		t.Errorf("export --force over a folder that is not a SavedModel: %v, want ErrExportExists", err)
	}
	if err := export(f.ModelDir, true); err == nil {
		t.Errorf("export --force over the model itself succeeded")
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("beside the exports: %v, want only x and notes", names)
	}
}

// TestExportIsAModel: tfcam reads its own export as it reads the model —
// the export's preset (tfcam.json) gives the same preprocessing and layer,
// and explaining through the export's serving_default, in a graph that
// already holds an explanation, gives the original's maps and
// predictions. tfcam serve and explain open models this way.
func TestExportIsAModel(t *testing.T) {
	f := fixture.Load(t, "resnet")
	in := f.Array(t, "inputs")
	cfg := explainer.Config{Methods: []explainer.Method{explainer.GradCAM{}, explainer.ScoreCAM{}}}
	run := func(dir string) (*tfcam.Model, []explainer.Result) {
		m, err := tfcam.Open(dir, tfcam.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		e, err := m.Explainer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Explain(context.Background(), explainer.Batch{Pixels: in.F32, N: in.Shape[0]}, explainer.Top1())
		if err != nil {
			t.Fatal(err)
		}
		return m, res
	}
	orig, want := run(f.ModelDir)
	dir := filepath.Join(t.TempDir(), "export")
	if _, err := orig.Export(context.Background(), cfg, dir, tfcam.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	exp, got := run(dir)
	if exp.Preprocess != orig.Preprocess || exp.Preset.Layer == "" {
		t.Errorf("export's preset: preprocess %q, layer %q; want %q and the explained layer", exp.Preprocess, exp.Preset.Layer, orig.Preprocess)
	}
	for i := range want {
		if d := fixture.MaxAbsDiff([]float32{got[i].Predictions[0].Score}, []float32{want[i].Predictions[0].Score}); d > 1e-6 || got[i].Predictions[0].Class != want[i].Predictions[0].Class {
			t.Errorf("image %d: export predicts %+v, the model %+v", i, got[i].Predictions[0], want[i].Predictions[0])
		}
		for j := range want[i].Maps[0] {
			if d := fixture.MaxAbsDiff(got[i].Maps[0][j].Normalized, want[i].Maps[0][j].Normalized); d > 1e-5 {
				t.Errorf("image %d, %s: the export's map differs by %g", i, want[i].Maps[0][j].Method, d)
			}
		}
	}
}
