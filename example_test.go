package tfcam_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/results"
)

// demo is the folder of the model `make demo` explains (EfficientNet-Lite0
// trained on ImageNet, built by `make setup`): the SavedModel in model/,
// two photos in photos/.
var demo = fixture.DemoDir()

// TestMain runs the examples outside the -short lane only: they need the
// demo model.
func TestMain(m *testing.M) { os.Exit(fixture.RunExamplesUnlessShort(m)) }

// Explain a folder of photos into a results folder, as `tfcam explain`
// does: per image an overlay and a 16-bit map per method, then its line
// in results.jsonl. A second run resumes: what is done is skipped.
func ExampleModel_ExplainInto() {
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
	out, err := os.MkdirTemp("", "tfcam-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(out)
	opts := tfcam.DefaultExplainOptions(runtime.NumCPU()) // top-1, overlays and 16-bit maps
	for run := 1; run <= 2; run++ {
		sum, err := m.ExplainInto(ctx, e, out, []string{filepath.Join(demo, "photos")}, opts)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("run %d: %d explained, %d already done, %d failed\n", run, sum.Done, sum.Skipped, sum.Failed)
	}
	// The results lines of every shard, one per image, sorted by key;
	// check: every file a line names exists.
	var merged bytes.Buffer
	st, err := results.Merge(ctx, out, true, &merged)
	if err != nil {
		log.Fatal(err)
	}
	for line := range bytes.Lines(merged.Bytes()) {
		var rec results.Record
		if err := json.Unmarshal(line, &rec); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %q\n", rec.Key, rec.Predictions[0].Label)
		for _, mp := range rec.Maps {
			fmt.Printf("  %s: %s, %s\n", mp.Method, mp.Overlay, mp.Map16)
		}
	}
	fmt.Printf("%d files checked, %d missing\n", st.Checked, len(st.Missing))
	// Output:
	// run 1: 2 explained, 0 already done, 0 failed
	// run 2: 0 explained, 2 already done, 0 failed
	// chelsea.png: "Egyptian cat"
	//   gradcam: chelsea.png/gradcam.jpg, chelsea.png/gradcam.map16.png
	//   layercam: chelsea.png/layercam.jpg, chelsea.png/layercam.map16.png
	// coffee.png: "espresso"
	//   gradcam: coffee.png/gradcam.jpg, coffee.png/gradcam.map16.png
	//   layercam: coffee.png/layercam.jpg, coffee.png/layercam.map16.png
	// 10 files checked, 0 missing
}

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

// Write the demo model as a SavedModel whose "explain" signature returns
// Grad-CAM and Grad-CAM++ maps, for Python, TF Serving or any TensorFlow
// runtime (docs/export.md).
func ExampleModel_Export() {
	m, err := tfcam.Open(filepath.Join(demo, "model"), tfcam.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	methods, err := explainer.ParseMethods("gradcam,gradcam++")
	if err != nil {
		log.Fatal(err)
	}
	tmp, err := os.MkdirTemp("", "export")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	x, err := m.Export(context.Background(), explainer.Config{Methods: methods}, filepath.Join(tmp, "lite0_explained"), tfcam.ExportOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("signatures %q and %q: input %q, maps %v\n", tfcam.SignatureExplain, tfcam.SignatureExplainClass, x.InputKey, x.MapKeys)
	// Output:
	// signatures "explain" and "explain_class": input "input", maps [map_gradcam map_gradcampp]
}
