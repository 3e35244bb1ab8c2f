package tfcam_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/fixture"
)

// demo is the folder of the model `make demo` explains (EfficientNet-Lite0
// trained on ImageNet, built by `make setup`): the SavedModel in model/,
// two photos in photos/.
var demo = fixture.DemoDir()

// TestMain runs the examples outside the -short lane only: they need the
// demo model.
func TestMain(m *testing.M) { os.Exit(fixture.RunExamplesUnlessShort(m)) }

// Explain one photo in memory: pixels in, maps out.
func ExampleOpen() {
	ctx := context.Background()
	m, err := tfcam.Open(filepath.Join(demo, "model"), tfcam.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	methods, err := explainer.ParseMethods("gradcam,layercam")
	if err != nil {
		log.Fatal(err)
	}
	e, err := m.Explainer(explainer.Config{Methods: methods})
	if err != nil {
		log.Fatal(err)
	}
	dec, err := m.Decoder(0) // model inputs only, no view for overlays
	if err != nil {
		log.Fatal(err)
	}
	defer dec.Close()
	data, err := os.ReadFile(filepath.Join(demo, "photos", "coffee.png"))
	if err != nil {
		log.Fatal(err)
	}
	img, err := dec.Decode(ctx, data, "coffee.png")
	if err != nil {
		log.Fatal(err)
	}
	defer img.Release()
	res, err := e.Explain(ctx, explainer.Batch{Pixels: img.Pixels, N: 1}, explainer.TopK(1))
	if err != nil {
		log.Fatal(err)
	}
	h, w := e.InputSize()
	for _, mp := range res[0].Maps[0] { // rank 0 (top-1), one map per method
		fmt.Printf("%s of %q: %d values (%dx%d), scaled to [0,1]\n", mp.Method, m.Preset.Label(mp.Class), len(mp.Normalized), w, h)
	}
	// Output:
	// gradcam of "espresso": 50176 values (224x224), scaled to [0,1]
	// layercam of "espresso": 50176 values (224x224), scaled to [0,1]
}
