package tfcam

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tfcam/tfcam/engine"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/npy"
	"github.com/tfcam/tfcam/models"
	"github.com/tfcam/tfcam/render"
	"github.com/tfcam/tfcam/results"
	"github.com/tfcam/tfcam/tfimage"
)

// Outputs are the files a Job writes for each map (the record line is
// always written).
type Outputs struct {
	// Overlay: the map coloured over the image (JPEG, or PNG with
	// OverlayPNG); concept methods get a PNG of the image coloured by
	// concept, with a legend, blended by ConceptAlpha.
	Overlay, OverlayPNG bool
	ConceptAlpha        float64
	// Map16: the map as a 16-bit grayscale PNG at the model's size.
	Map16 bool
	// NPY: the raw map (Config.Raw) as float32 .npy.
	NPY bool
	// TFRecord: a tf.train.Example per map in the shard's TFRecord file
	// (Renderer must make Map16).
	TFRecord bool
}

// Job explains batches of images and stores, per image, its files and
// then its results line in Sink: what `tfcam explain` runs, as the
// engine's Stages. Renderer must render Explainer's maps per image (its
// Maps: methods × classes explained) and, with Outputs.TFRecord, Map16.
type Job struct {
	// Explainer computes the maps of a batch in one graph run.
	Explainer *explainer.Explainer
	// Class is the class explained in each image.
	Class explainer.Class
	// Renderer encodes an image's maps (overlays, 16-bit PNGs) and its
	// thumbnail in one run.
	Renderer *tfimage.Renderer
	// Sink stores the files and, last, each image's results line.
	Sink results.Sink
	// Warn, when set, is told of each image explained with a warning (it
	// is in the image's results line too).
	Warn func(path, warning string)
	// Outputs are the files written per map.
	Outputs Outputs
	// Preset gives the labels of the records.
	Preset models.Preset
	// Model is the model's name in the records; Seed the explainer's.
	Model string
	Seed  int64
	// Target is the target spec recorded when the explainer's objective
	// is not the class scores ("embedding:ref=cat.png"; empty: the
	// objective's own name).
	Target string

	flat      atomic.Int64 // flat maps written
	labelOnce sync.Once
	labeler   func(int) string
}

// Flat counts the maps written so far that have no signal
// (explainer.Map.Flat).
func (x *Job) Flat() int64 { return x.flat.Load() }

// RunBatch makes the previous batch's lines as durable as their files
// (Sink.Sync), then explains the batch in one graph run.
func (x *Job) RunBatch(ctx context.Context, batch []*engine.Item) error {
	// Lines of the previous batch are written once its files are on
	// disk; first, so that a store that fails it fails this batch before
	// its run (and its retries fail with the store's error).
	if err := x.Sink.Sync(ctx); err != nil {
		return err
	}
	res, err := x.Explainer.Explain(ctx, explainer.Batch{Pixels: engine.Pixels(batch), N: len(batch)}, x.Class.Targets(len(batch)))
	if err != nil {
		return err
	}
	for i, it := range batch {
		it.Result = res[i]
		it.Decoded.Pixels = nil
	}
	return nil
}

// Write renders and writes one image's files, then marks it done.
func (x *Job) Write(ctx context.Context, it *engine.Item) error {
	start := time.Now()
	h, wd := x.Explainer.InputSize()
	key := it.Input.Key
	rec := results.Record{Input: it.Input.Path, Key: key, Model: x.Model, Layer: x.Explainer.Layer().Name, Seed: x.Seed,
		Width: it.Decoded.Width, Height: it.Decoded.Height}
	if ob := x.Explainer.Objective(); !ob.IsClass() {
		rec.Target = cmp.Or(x.Target, ob.String())
	}
	rec.PredictionScore, rec.MapScore = ScoreNames(x.Explainer)
	if w := it.Decoded.Warning; w != "" {
		rec.Warnings = append(rec.Warnings, w)
		if x.Warn != nil {
			x.Warn(it.Input.Path, w)
		}
	}
	label := x.label()
	for _, p := range it.Result.Predictions {
		rec.Predictions = append(rec.Predictions, results.Prediction{Class: p.Class, Label: label(p.Class), Score: p.Score})
	}
	var maps [][]float32
	var flat []explainer.Map
	var styles []tfimage.MapStyle
	for _, ms := range it.Result.Maps {
		for _, mp := range ms {
			maps = append(maps, mp.Normalized)
			flat = append(flat, mp)
			styles = append(styles, tfimage.StyleOf(mp))
		}
	}
	files, err := x.Renderer.Render(ctx, it.Decoded.View, maps, styles)
	if err != nil {
		return err
	}
	if err := x.Sink.WriteFile(ctx, key+"/original.jpg", files.Thumbnail); err != nil {
		return err
	}
	rec.Original = key + "/original.jpg"
	ext := ".jpg"
	if x.Outputs.OverlayPNG {
		ext = ".png"
	}
	var examples [][]byte
	for i, mp := range flat {
		name := safeName(mp.Method)
		if len(it.Result.Maps) > 1 {
			name += fmt.Sprintf("-top%d", mp.Rank+1)
		}
		rm := results.Map{Explanation: results.Explanation{Method: mp.Method, Options: methodOptions(x.Explainer, mp.Method), Class: mp.Class,
			Label: label(mp.Class), Rank: mp.Rank, Score: mp.Score}, Flat: mp.Flat, Zero: mp.Zero}
		if mp.Kind != explainer.RegionMap {
			rm.Kind = mp.Kind.String()
		}
		if mp.Flat {
			x.flat.Add(1)
		}
		rel := key + "/" + name
		if mp.Concepts != nil {
			if err := x.writeConcepts(ctx, it, mp, rel, &rm); err != nil {
				return err
			}
			rec.Maps = append(rec.Maps, rm)
			continue
		}
		if x.Outputs.Overlay {
			if err := x.Sink.WriteFile(ctx, rel+ext, files.Overlays[i]); err != nil {
				return err
			}
			rm.Overlay = rel + ext
		}
		if x.Outputs.Map16 {
			if err := x.Sink.WriteFile(ctx, rel+".map16.png", files.Map16[i]); err != nil {
				return err
			}
			rm.Map16 = rel + ".map16.png"
		}
		if x.Outputs.NPY {
			var buf bytes.Buffer
			if err := npy.WriteFloat32(&buf, mp.Raw, []int{h, wd}); err != nil {
				return err
			}
			if err := x.Sink.WriteFile(ctx, rel+".npy", buf.Bytes()); err != nil {
				return err
			}
			rm.NPY = rel + ".npy"
		}
		rec.Maps = append(rec.Maps, rm)
		if x.Outputs.TFRecord {
			ex, err := results.MapExample(rec, rm, files.Map16[i], wd, h)
			if err != nil {
				return err
			}
			examples = append(examples, ex)
		}
	}
	rec.TimingsMS = map[string]float64{
		"read":    ms(it.Read),
		"decode":  ms(it.Decode),
		"explain": ms(it.Run),
		"encode":  ms(time.Since(start)),
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return x.Sink.Commit(ctx, line, examples)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// safeName turns a method name into a file name ("gradcam++" → "gradcampp").
func safeName(s string) string { return strings.ReplaceAll(s, "+", "p") }

// legendLabels is how many of a concept's top classes the overlay's
// legend names.
const legendLabels = 2

// writeConcepts writes the files of a map with concepts (explainer.Map's
// Concepts) under rel: instead of a heatmap overlay, rel.png, the image
// with each pixel in the colour of its strongest concept and a legend of
// the concepts' labels (overlay); rel.concept<c>.map16.png per concept
// (map16); rel.npy, the normalised concept maps as one float32 [n,H,W]
// (npy). It fills rm's file names and concepts.
func (x *Job) writeConcepts(ctx context.Context, it *engine.Item, mp explainer.Map, rel string, rm *results.Map) error {
	h, w := x.Explainer.InputSize()
	cs := mp.Concepts
	for c := range cs.Maps {
		rc := results.Concept{Concept: c + 1}
		if c < len(cs.Labels) {
			for _, p := range cs.Labels[c] {
				rc.Labels = append(rc.Labels, results.Prediction{Class: p.Class, Label: x.Preset.Label(p.Class), Score: p.Score})
			}
		}
		if x.Outputs.Map16 {
			name := fmt.Sprintf("%s.concept%d.map16.png", rel, c+1)
			g, err := render.Gray16(cs.Maps[c], w, h)
			if err != nil {
				return err
			}
			if err := x.writePNG(ctx, name, g); err != nil {
				return err
			}
			rc.Map16 = name
		}
		rm.Concepts = append(rm.Concepts, rc)
	}
	if x.Outputs.Overlay {
		view, err := tfimage.ViewImage(it.Decoded.View)
		if err != nil {
			return err
		}
		legend := make([]string, len(rm.Concepts))
		for c, rc := range rm.Concepts {
			var names []string
			for _, l := range rc.Labels[:min(legendLabels, len(rc.Labels))] {
				names = append(names, fmt.Sprintf("%s %.2f", l.Label, l.Score))
			}
			legend[c] = fmt.Sprintf("%d: %s", c+1, strings.Join(names, ", "))
		}
		img, err := render.ConceptOverlay(view, cs.Maps, w, h, x.Outputs.ConceptAlpha, legend)
		if err != nil {
			return err
		}
		if err := x.writePNG(ctx, rel+".png", img); err != nil {
			return err
		}
		rm.Overlay = rel + ".png"
	}
	if x.Outputs.NPY {
		all := make([]float32, 0, len(cs.Maps)*h*w)
		for _, m := range cs.Maps {
			all = append(all, m...)
		}
		var buf bytes.Buffer
		if err := npy.WriteFloat32(&buf, all, []int{len(cs.Maps), h, w}); err != nil {
			return err
		}
		if err := x.Sink.WriteFile(ctx, rel+".npy", buf.Bytes()); err != nil {
			return err
		}
		rm.NPY = rel + ".npy"
	}
	return nil
}

// writePNG encodes img as PNG into the output file name.
func (x *Job) writePNG(ctx context.Context, name string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("encoding %s: %w", name, err)
	}
	return x.Sink.WriteFile(ctx, name, buf.Bytes())
}

// methodOptions returns the non-default settings of e's method named
// name, as in a --method spec ("steps=64").
func methodOptions(e *explainer.Explainer, name string) []string {
	for _, m := range e.Methods() {
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

// label names a column of the explained scores (Model.Labeler), made
// once per Job, not per image.
func (x *Job) label() func(int) string {
	x.labelOnce.Do(func() { x.labeler = (&Model{Preset: x.Preset}).Labeler(x.Explainer) })
	return x.labeler
}
