package engine_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/engine"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/results"
)

// demo is the folder of the model `make demo` explains (built by `make
// setup`): the SavedModel in model/, two photos in photos/.
var demo = fixture.DemoDir()

// TestMain runs the examples outside the -short lane only: they need the
// demo model.
func TestMain(m *testing.M) { os.Exit(fixture.RunExamplesUnlessShort(m)) }

// toFolder is a Stages that explains each batch in one graph run and
// stores, per image, its maps as 8-bit PNGs and then its results line.
type toFolder struct {
	m   *tfcam.Model
	e   *explainer.Explainer
	out *results.Dir
}

func (s *toFolder) RunBatch(ctx context.Context, batch []*engine.Item) error {
	res, err := s.e.Explain(ctx, explainer.Batch{Pixels: engine.Pixels(batch), N: len(batch)}, explainer.TopK(1))
	if err != nil {
		return err
	}
	for i, it := range batch {
		it.Result = res[i]
	}
	return s.out.Sync(ctx) // the previous batch's lines, once its files are stored
}

func (s *toFolder) Write(ctx context.Context, it *engine.Item) error {
	rec := results.Record{Input: it.Input.Path, Key: it.Input.Key, Model: s.m.TF.Dir, Layer: s.e.Layer().Name,
		Width: it.Decoded.Width, Height: it.Decoded.Height}
	h, w := s.e.InputSize()
	for _, mp := range it.Result.Maps[0] {
		img := image.NewGray(image.Rect(0, 0, w, h))
		for i, v := range mp.Normalized {
			img.Pix[i] = uint8(v*255 + 0.5)
		}
		var buf strings.Builder
		if err := png.Encode(&buf, img); err != nil {
			return err
		}
		name := it.Input.Key + "/" + mp.Method + ".png"
		if err := s.out.WriteFile(ctx, name, []byte(buf.String())); err != nil {
			return err
		}
		rec.Maps = append(rec.Maps, results.Map{Map16: name,
			Explanation: results.Explanation{Method: mp.Method, Class: mp.Class, Label: s.m.Preset.Label(mp.Class), Score: mp.Score}})
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.out.Commit(ctx, line, nil) // last: the line marks the image done
}

// Explain a folder of images into a results folder: the batch engine
// reads and decodes the images on workers, runs each batch through the
// explainer in one graph run and hands each image to the sink; a rerun
// skips the images already done.
func ExampleEngine_Run() {
	ctx := context.Background()
	m, err := tfcam.Open(filepath.Join(demo, "model"), tfcam.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	methods, err := explainer.ParseMethods("gradcam")
	if err != nil {
		log.Fatal(err)
	}
	e, err := m.Explainer(explainer.Config{Methods: methods})
	if err != nil {
		log.Fatal(err)
	}
	dec, err := m.Decoder(0)
	if err != nil {
		log.Fatal(err)
	}
	defer dec.Close()
	images, err := inputs.Expand(ctx, []string{filepath.Join(demo, "photos")}, nil, func(path string, err error) {
		log.Printf("skipped %s: %v", path, err)
	})
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "tfcam-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	out, err := results.OpenDir(dir, inputs.Shard{Index: 0, Count: 1}, false, false, nil)
	if err != nil {
		log.Fatal(err)
	}
	var todo []inputs.Input
	for _, in := range images {
		if !out.IsDone(in.Key) {
			todo = append(todo, in)
		}
	}
	eng := &engine.Engine{Decoder: dec, Batch: 8, Workers: 2, MaxBytes: 64 << 20}
	sum, err := eng.Run(ctx, slices.Values(todo), &toFolder{m: m, e: e, out: out})
	if err != nil {
		log.Fatal(err)
	}
	if err := out.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d explained, %d failed\n", sum.Done, sum.Failed)

	f, err := os.Open(filepath.Join(dir, results.ResultsName(inputs.Shard{Index: 0, Count: 1})))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var lines []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var r results.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			log.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%s: %s of %q in %s", r.Key, r.Maps[0].Method, r.Maps[0].Label, r.Maps[0].Map16))
	}
	slices.Sort(lines) // written as images finish, not in input order
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// 2 explained, 0 failed
	// chelsea.png: gradcam of "Egyptian cat" in chelsea.png/gradcam.png
	// coffee.png: gradcam of "espresso" in coffee.png/gradcam.png
}
