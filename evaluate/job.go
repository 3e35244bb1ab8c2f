package evaluate

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/engine"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/atomicfile"
	"github.com/tfcam/tfcam/render"
	"github.com/tfcam/tfcam/tfgraph"
	"github.com/tfcam/tfcam/tfimage"
)

// Job is `tfcam eval` as the batch engine's Stages: it explains each batch
// in one run, then scores every method's maps — pointing in Go, the
// perturbation metrics in the graph — and keeps each image's ImageResult
// for the Report (Results). It writes nothing per image.
type Job struct {
	Explainer *explainer.Explainer
	// Evaluator runs the perturbation metrics (nil under a non-class
	// target); ROAD and Sanity are nil when off.
	Evaluator *Evaluator
	ROAD      *ROAD
	Sanity    *Sanity
	// SanityImages: the sanity checks run on the images with Seq below it.
	SanityImages int
	// Sensitivity: Samples 0 means no max-sensitivity.
	Sensitivity SensitivityConfig
	// Channels are the model input's.
	Channels int
	// Class is the explained class index, -1 for top-1.
	Class int
	// Boxes are each image's boxes by input path, for the pointing games;
	// Tolerance their margin in pixels.
	Boxes     map[string][]Box
	Tolerance float64
	// ExampleImages: the report's example maps are of the images with Seq
	// below it (0: none); decode views of at most ExampleSize pixels.
	ExampleImages int
	// Label names a class in the examples' captions ("Egyptian cat");
	// nil captions them "class 285".
	Label func(class int) string

	mu       sync.Mutex
	results  []ImageResult
	examples map[int]Example // by seq
}

// ExampleImages and ExampleSize are the report's example maps by
// default: the first images, at most this many pixels on their longer
// side.
const ExampleImages, ExampleSize = 3, 128

// Results are the scored images so far, in the order they finished.
func (x *Job) Results() []ImageResult {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.results)
}

// RunBatch explains a batch in one run and scores every method's maps
// on it: pointing, the perturbation metrics, ROAD, sanity checks and
// max-sensitivity as configured, keeping each image's results and the
// report's examples.
func (x *Job) RunBatch(ctx context.Context, batch []*engine.Item) error {
	// Boxes are checked against the images before anything runs: an
	// image whose box lies wholly outside it fails (alone, on the
	// engine's retry), rather than losing its pointing game silently.
	for _, it := range batch {
		for _, bx := range x.Boxes[it.Input.Path] {
			if bx.X0 >= it.Decoded.Width || bx.Y0 >= it.Decoded.Height {
				return fmt.Errorf("%s: box %d,%d,%d,%d lies outside the image (%dx%d); check the boxes file", it.Input.Path, bx.X0, bx.Y0, bx.X1, bx.Y1, it.Decoded.Width, it.Decoded.Height)
			}
		}
	}
	h, w := x.Explainer.InputSize()
	pixels := engine.Pixels(batch)
	targets := explainer.Top1()
	if x.Class >= 0 {
		cls := make([]int, len(batch))
		for i := range cls {
			cls[i] = x.Class
		}
		targets = explainer.Classes(cls...)
	}
	res, err := x.Explainer.Explain(ctx, explainer.Batch{Pixels: pixels, N: len(batch)}, targets)
	if err != nil {
		return err
	}
	sanity, err := x.sanityChecks(ctx, batch, pixels, res)
	if err != nil {
		return err
	}
	var out []ImageResult
	var sens [][]float64 // [method][image]
	if x.Sensitivity.Samples > 0 {
		if sens, err = x.maxSensitivity(ctx, pixels, res); err != nil {
			return err
		}
	}
	for j, mt := range x.Explainer.Methods() {
		maps := make([]float32, 0, len(batch)*h*w)
		classes := make([]int, len(batch))
		for i := range batch {
			mp := res[i].Maps[0][j]
			maps = append(maps, mp.Normalized...)
			classes[i] = mp.Class
		}
		faith := make([]Faithfulness, len(batch))
		if x.Evaluator != nil {
			if faith, err = x.Evaluator.Run(ctx, pixels, maps, classes); err != nil {
				return fmt.Errorf("%s: %w", mt.Name(), err)
			}
		} else {
			for i := range faith {
				faith[i].Class = classes[i]
			}
		}
		var road []ROADResult
		if x.ROAD != nil {
			if road, err = x.ROAD.Run(ctx, pixels, maps, classes); err != nil {
				return fmt.Errorf("%s: %w", mt.Name(), err)
			}
		}
		for i, it := range batch {
			m := maps[i*h*w : (i+1)*h*w]
			r := ImageResult{Image: it.Input.Path, Method: mt.Name(), Faithfulness: faith[i],
				Sparseness: Sparseness(m), Complexity: Complexity(m)}
			if road != nil {
				r.ROAD = &road[i]
			}
			if sens != nil && !math.IsNaN(sens[j][i]) {
				r.MaxSensitivity = &sens[j][i]
			}
			if sanity != nil && sanity[j][i] != nil {
				r.Sanity = sanity[j][i]
			}
			if bs := x.Boxes[it.Input.Path]; len(bs) > 0 {
				var rects []Rect
				for _, bx := range bs {
					rects = append(rects, bx.ToMap(it.Decoded.Width, it.Decoded.Height, w, h))
				}
				p := Point(m, w, h, rects, x.Tolerance)
				r.Pointing = &p
			}
			out = append(out, r)
		}
	}
	examples := map[int]Example{}
	for i, it := range batch {
		if it.Seq >= x.ExampleImages {
			continue
		}
		ex, err := x.example(ctx, it, res[i])
		if err != nil {
			return err
		}
		examples[it.Seq] = ex
	}
	x.mu.Lock()
	x.results = append(x.results, out...)
	if x.examples == nil {
		x.examples = map[int]Example{}
	}
	maps.Copy(x.examples, examples)
	x.mu.Unlock()
	return nil
}

// sanityChecks runs the sanity checks on the images of a batch (explained
// as res) among the first sanityImages: results[method][image in batch],
// nil for the others; nil when the checks are off or no image is among
// them.
func (x *Job) sanityChecks(ctx context.Context, batch []*engine.Item, pixels []float32, res []explainer.Result) ([][]*SanityResult, error) {
	if x.Sanity == nil {
		return nil, nil
	}
	var sel []int
	for i, it := range batch {
		if it.Seq < x.SanityImages {
			sel = append(sel, i)
		}
	}
	if len(sel) == 0 {
		return nil, nil
	}
	n := len(sel)
	per := len(pixels) / len(batch)
	if n < len(batch) {
		sub := make([]float32, 0, n*per)
		for _, i := range sel {
			sub = append(sub, pixels[i*per:(i+1)*per]...)
		}
		pixels = sub
	}
	classes := make([]int, n)
	orig := make([][]float32, len(x.Explainer.Methods()))
	for k, i := range sel {
		classes[k] = res[i].Maps[0][0].Class
		for j, mp := range res[i].Maps[0] {
			orig[j] = append(orig[j], mp.Raw...)
		}
	}
	explain := func(ctx context.Context, weights map[tf.Output]tfgraph.Feed, classes []int) ([][]float32, error) {
		res, err := x.Explainer.ExplainWithWeights(ctx, explainer.Batch{Pixels: pixels, N: n}, explainer.Classes(classes...), weights)
		if err != nil {
			return nil, err
		}
		out := make([][]float32, len(x.Explainer.Methods()))
		for _, r := range res {
			for j, mp := range r.Maps[0] {
				out[j] = append(out[j], mp.Raw...)
			}
		}
		return out, nil
	}
	got, err := x.Sanity.Run(ctx, pixels, classes, orig, explain)
	if err != nil {
		return nil, err
	}
	out := make([][]*SanityResult, len(got))
	for j := range got {
		out[j] = make([]*SanityResult, len(batch))
		for k, i := range sel {
			out[j][i] = &got[j][k]
		}
	}
	return out, nil
}

// example renders an image's overlays for the report: JPEG files of the
// image and of each method's map over it, each drawn as tfcam explain
// draws it (tfimage.StyleOf: heatmaps, gray pixel gradients, signed
// attributions red and blue around zero), with the image's boxes.
func (x *Job) example(ctx context.Context, it *engine.Item, res explainer.Result) (Example, error) {
	ex := Example{Image: it.Input.Path}
	d := it.Decoded
	if d.View == nil {
		return ex, nil
	}
	view, err := tfimage.ViewImage(d.View)
	if err != nil {
		return ex, fmt.Errorf("%s: %w", it.Input.Path, err)
	}
	if ex.Original, err = encodeJPEG(view); err != nil {
		return ex, err
	}
	h, w := x.Explainer.InputSize()
	methods := x.Explainer.Methods()
	var maps [][]float32
	var styles []tfimage.MapStyle
	for j := range methods {
		maps = append(maps, res.Maps[0][j].Normalized)
		styles = append(styles, tfimage.StyleOf(res.Maps[0][j]))
	}
	// A renderer for this image's overlays: at most ExampleImages of
	// them per run, each a small graph.
	r, err := tfimage.NewRenderer(tfimage.RenderOptions{Maps: len(methods), MapWidth: w, MapHeight: h, Overlay: true, Colormap: render.Jet, Alpha: 0.5, Quality: 90})
	if err != nil {
		return ex, err
	}
	defer r.Close()
	files, err := r.Render(ctx, d.View, maps, styles)
	if err != nil {
		return ex, fmt.Errorf("%s: overlays: %w", it.Input.Path, err)
	}
	for j, mt := range methods {
		mp := res.Maps[0][j]
		drawn, err := jpeg.Decode(bytes.NewReader(files.Overlays[j]))
		if err != nil {
			return ex, fmt.Errorf("%s: %s overlay: %w", it.Input.Path, mt.Name(), err)
		}
		ov := image.NewNRGBA(drawn.Bounds())
		draw.Draw(ov, ov.Bounds(), drawn, drawn.Bounds().Min, draw.Src)
		// The pointing game's boxes, where the map should point.
		vb := view.Bounds()
		for _, bx := range x.Boxes[it.Input.Path] {
			drawBox(ov, bx.ToMap(d.Width, d.Height, vb.Dx(), vb.Dy()))
		}
		b, err := encodeJPEG(ov)
		if err != nil {
			return ex, err
		}
		class := "class " + strconv.Itoa(mp.Class)
		if x.Label != nil {
			if l := x.Label(mp.Class); l != class && l != "" {
				class = fmt.Sprintf("%s (%d)", l, mp.Class)
			}
		}
		ex.Maps = append(ex.Maps, ExampleMap{Method: mt.Name(), Class: class, Image: b, Style: styles[j].Style})
	}
	return ex, nil
}

// drawBox outlines r (in img's pixels) on img: a white line inside a
// black one, so that it shows on any map colour.
func drawBox(img *image.NRGBA, r Rect) {
	b := img.Bounds()
	x0, y0 := max(int(math.Floor(r.X0)), b.Min.X), max(int(math.Floor(r.Y0)), b.Min.Y)
	x1, y1 := min(int(math.Ceil(r.X1))-1, b.Max.X-1), min(int(math.Ceil(r.Y1))-1, b.Max.Y-1)
	if x0 > x1 || y0 > y1 {
		return
	}
	for i, c := range []color.NRGBA{{0, 0, 0, 255}, {255, 255, 255, 255}} {
		l, t, rt, bt := x0+i, y0+i, x1-i, y1-i
		if l > rt || t > bt {
			return
		}
		for x := l; x <= rt; x++ {
			img.SetNRGBA(x, t, c)
			img.SetNRGBA(x, bt, c)
		}
		for y := t; y <= bt; y++ {
			img.SetNRGBA(l, y, c)
			img.SetNRGBA(rt, y, c)
		}
	}
}

// Examples are the report's example maps, in input order.
func (x *Job) Examples() []Example {
	var out []Example
	for _, seq := range slices.Sorted(maps.Keys(x.examples)) {
		out = append(out, x.examples[seq])
	}
	return out
}

// encodeJPEG encodes an example map.
func encodeJPEG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, fmt.Errorf("encoding an example map: %w", err)
	}
	return b.Bytes(), nil
}

// maxSensitivity is every method's max-sensitivity on a batch explained
// as res, [method][image]: each sample's perturbed images are explained
// once, for all methods.
func (x *Job) maxSensitivity(ctx context.Context, pixels []float32, res []explainer.Result) ([][]float64, error) {
	h, w := x.Explainer.InputSize()
	methods := len(x.Explainer.Methods())
	maps := make([][]float32, methods)
	classes := make([]int, len(res))
	for i, r := range res {
		classes[i] = r.Maps[0][0].Class
		for j, mp := range r.Maps[0] {
			maps[j] = append(maps[j], mp.Normalized...)
		}
	}
	explain := func(ctx context.Context, pixels []float32, classes []int) ([][]float32, error) {
		res, err := x.Explainer.Explain(ctx, explainer.Batch{Pixels: pixels, N: len(classes)}, explainer.Classes(classes...))
		if err != nil {
			return nil, err
		}
		out := make([][]float32, methods)
		for _, r := range res {
			for j, mp := range r.Maps[0] {
				out[j] = append(out[j], mp.Normalized...)
			}
		}
		return out, nil
	}
	sens, err := MaxSensitivityAll(ctx, explain, pixels, maps, classes, h, w, x.Channels, x.Sensitivity)
	if err != nil {
		return nil, fmt.Errorf("max-sensitivity: %w", err)
	}
	return sens, nil
}

// Write has nothing to write per image: the report needs every image.
func (x *Job) Write(context.Context, *engine.Item) error { return nil }

// WriteFiles writes the report's files atomically into dir (report.html
// with examples, report.md, metrics.csv and .json, curves.csv, plots) and
// returns their names.
func (rep *Report) WriteFiles(dir string, examples []Example) ([]string, error) {
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"report.html", func(w io.Writer) error { return rep.WriteHTML(w, examples) }},
		{"report.md", rep.WriteMarkdown},
		{"metrics.csv", rep.WriteCSV},
		{"metrics.json", rep.WriteJSON},
		{"curves.csv", rep.WriteCurvesCSV},
	}
	if rep.measured() {
		files = append(files, struct {
			name  string
			write func(io.Writer) error
		}{"scores.png", rep.PlotScores})
	}
	if rep.Fractions != nil { // deletion/insertion curves: a class target
		files = append(files, []struct {
			name  string
			write func(io.Writer) error
		}{
			{"deletion.png", func(w io.Writer) error { return rep.PlotCurves(w, "deletion") }},
			{"insertion.png", func(w io.Writer) error { return rep.PlotCurves(w, "insertion") }},
		}...)
	}
	if len(rep.Settings.SanityCuts) > 0 {
		files = append(files, struct {
			name  string
			write func(io.Writer) error
		}{"sanity.png", rep.PlotSanity})
	}
	var names []string
	for _, f := range files {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.write, atomicfile.Options{}); err != nil {
			return nil, fmt.Errorf("writing %s: %w", filepath.Join(dir, f.name), err)
		}
		names = append(names, f.name)
	}
	return names, nil
}
