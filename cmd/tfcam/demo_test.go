package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/internal/fixture"
)

// demoModel is the pretrained EfficientNet-Lite0 that `make setup` converts.
func demoModel(t *testing.T) string {
	t.Helper()
	fixture.Need(t)
	dir := os.Getenv("TFCAM_DEMO_MODEL")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", ".models", "efficientnet_lite0")
	}
	if _, err := os.Stat(filepath.Join(dir, "model", "saved_model.pb")); err != nil {
		t.Fatalf("demo model missing (%v): run `make setup`", err)
	}
	return dir
}

// TestDemoModelRecognisesPhotos is the acceptance check of the converted
// weights: scikit-image's cat photo must come out as a cat class and its
// coffee photo as espresso/cup/coffee mug, within the top 3, through tfcam's
// own decoding, preprocessing preset and explanation graph.
func TestDemoModelRecognisesPhotos(t *testing.T) {
	dir := demoModel(t)
	f := modelFlags{model: filepath.Join(dir, "model"), device: "auto"}
	opened, err := f.open()
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	m, preset := opened.TF, opened.Preset
	if len(preset.Labels) != 1000 || preset.Layer != "top_activation" {
		t.Fatalf("preset: %d labels, layer %q", len(preset.Labels), preset.Layer)
	}
	pre := opened.Preprocess
	e, err := explainer.New(m, explainer.Config{Layer: preset.Layer, Methods: []explainer.Method{explainer.GradCAM{}}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		photo string
		want  map[int]bool // acceptable ImageNet classes
	}{
		{"chelsea.png", map[int]bool{281: true, 282: true, 283: true, 284: true, 285: true}}, // tabby, tiger cat, Persian, Siamese, Egyptian cat
		{"coffee.png", map[int]bool{967: true, 968: true, 504: true}},                        // espresso, cup, coffee mug
	}
	h, w, c := m.InputSize()
	for _, tc := range cases {
		img, err := imagefile.Decode(filepath.Join(dir, "photos", tc.photo))
		if err != nil {
			t.Fatal(err)
		}
		pixels := make([]float32, h*w*c)
		if err := imagefile.ToTensor(img, w, h, c, pre, pixels); err != nil {
			t.Fatal(err)
		}
		res, err := e.Explain(context.Background(), explainer.Batch{Pixels: pixels, N: 1}, explainer.Top1())
		if err != nil {
			t.Fatal(err)
		}
		hit := false
		for _, p := range res[0].Predictions[:3] {
			hit = hit || tc.want[p.Class]
		}
		var top []string
		for _, p := range res[0].Predictions {
			top = append(top, preset.Label(p.Class))
		}
		if !hit {
			t.Errorf("%s: top-5 %q has none of the expected classes in its top 3", tc.photo, top)
		} else {
			t.Logf("%s: top-5 %q", tc.photo, top)
		}
	}
}
