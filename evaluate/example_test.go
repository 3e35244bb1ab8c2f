package evaluate_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/engine"
	"github.com/tfcam/tfcam/evaluate"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/internal/fixture"
)

// demo is the folder of the model `make demo` explains (EfficientNet-Lite0
// trained on ImageNet, built by `make setup`): the SavedModel in model/,
// two photos in photos/.
var demo = fixture.DemoDir()

// TestMain runs the examples outside the -short lane only: they need the
// demo model.
func TestMain(m *testing.M) { os.Exit(fixture.RunExamplesUnlessShort(m)) }

// boxesCSV boxes what each demo photo's top-1 class is about, in pixels of
// the photo (inclusive): the cat's eyes, nose and muzzle in chelsea.png
// (451×300), the espresso in the cup in coffee.png (600×400) — not the
// saucer around it, where a random map's maximum lands.
const boxesCSV = `image,x0,y0,x1,y1
chelsea.png,120,60,360,280
coffee.png,205,95,370,195
`

// Compare two methods on a set of boxed images, as `tfcam eval` does:
// Grad-CAM against RandomCAM, the sanity baseline (random channel weights)
// that a method worth trusting must beat. The batch engine decodes the
// photos and the Job explains each batch in one run and scores every
// method's maps on it; Summarize and Rank then compare the methods.
func ExampleJob() {
	ctx := context.Background()
	m, err := tfcam.Open(filepath.Join(demo, "model"), tfcam.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	methods, err := explainer.ParseMethods("gradcam,randomcam")
	if err != nil {
		log.Fatal(err)
	}
	e, err := m.Explainer(explainer.Config{Methods: methods})
	if err != nil {
		log.Fatal(err)
	}
	// Few deletion/insertion steps: each costs two forward passes per
	// image and method.
	ev, err := evaluate.New(m.TF, evaluate.Config{Steps: 4})
	if err != nil {
		log.Fatal(err)
	}
	dec, err := m.Decoder(0) // model inputs only: no report, no overlays
	if err != nil {
		log.Fatal(err)
	}
	defer dec.Close()
	images, err := inputs.ExpandFiles(ctx, []string{filepath.Join(demo, "photos")}, nil, func(path string, err error) {
		log.Printf("skipped %s: %v", path, err)
	})
	if err != nil {
		log.Fatal(err)
	}
	// The boxes file names images by base name; MatchBoxes keys them by
	// the paths the engine will report.
	rows, err := evaluate.ParseBoxes(strings.NewReader(boxesCSV), "boxes.csv")
	if err != nil {
		log.Fatal(err)
	}
	var paths []string
	for _, in := range images {
		paths = append(paths, in.Path)
	}
	boxes, unmatched, err := evaluate.MatchBoxes(rows, paths)
	if err != nil {
		log.Fatal(err)
	}
	h, w := e.InputSize()
	_, _, c := m.TF.InputSize()
	job := &evaluate.Job{Explainer: e, Evaluator: ev, Boxes: boxes, Channels: c,
		Class:     -1, // top-1: the zero value would explain class 0
		Tolerance: evaluate.ScaleTolerance(evaluate.ToleranceAt224, w, h)}
	eng := &engine.Engine{Decoder: dec, Batch: 2, Workers: 2, MaxBytes: 64 << 20}
	sum, err := eng.Run(ctx, slices.Values(images), job)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d images scored, %d failed, %d box rows unmatched\n", sum.Done, sum.Failed, unmatched)

	results := job.Results() // in the order images finished
	slices.SortFunc(results, func(a, b evaluate.ImageResult) int { return strings.Compare(a.Image, b.Image) })
	for _, r := range results {
		if r.Method == methods[0].Name() {
			fmt.Printf("%s: explained %q\n", filepath.Base(r.Image), m.Preset.Label(r.Class))
		}
	}
	var names []string
	for _, mt := range e.Methods() {
		names = append(names, mt.Name())
	}
	summaries := evaluate.Summarize(names, results)
	for _, s := range summaries {
		fmt.Printf("%s: pointing game %.0f%% of %d boxed images\n", s.Method, *s.PointingGame, s.Boxed)
	}
	// Ranks, not scores: the scores' last digits depend on the CPU's
	// kernels, the order of methods this far apart does not.
	rk := evaluate.Rank(summaries)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "rank\t%s\n", strings.Join(names, "\t"))
	for j, mt := range rk.Metrics {
		if !mt.InMeanRank { // sparseness, complexity: the map's shape, not its worth
			continue
		}
		fmt.Fprintf(tw, "%s", mt.Head)
		for _, row := range rk.Rows {
			fmt.Fprintf(tw, "\t%g", row.Ranks[j])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Println(rk.Recommend().Text)
	// Output:
	// 2 images scored, 0 failed, 0 box rows unmatched
	// chelsea.png: explained "Egyptian cat"
	// coffee.png: explained "espresso"
	// gradcam: pointing game 100% of 2 boxed images
	// randomcam: pointing game 50% of 2 boxed images
	// rank            gradcam  randomcam
	// pointing %↑     1        2
	// energy %↑       1        2
	// avg drop %↓     1        2
	// incr conf %↑    1.5      1.5
	// deletion AUC↓   1        2
	// insertion AUC↑  1        2
	// Trust gradcam for this model: it has the best mean rank (1.08; 1 is first on every metric) over 6 metrics among the 2 methods.
}
