package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"strings"

	"github.com/tfcam/tfcam/results"

	"github.com/tfcam/tfcam/engine"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/npy"
	"github.com/tfcam/tfcam/render"
	"github.com/tfcam/tfcam/tfimage"
)

// legendLabels is how many of a concept's top classes the overlay's
// legend names.
const legendLabels = 2

// writeConcepts writes the files of a map with concepts (explainer.Map's
// Concepts) under rel: instead of a heatmap overlay, rel.png, the image
// with each pixel in the colour of its strongest concept and a legend of
// the concepts' labels (overlay); rel.concept<c>.map16.png per concept
// (map16); rel.npy, the normalised concept maps as one float32 [n,H,W]
// (npy). It fills rm's file names and concepts.
func (x *explainStages) writeConcepts(ctx context.Context, it *engine.Item, mp explainer.Map, rel string, rm *results.Map) error {
	h, w := x.e.InputSize()
	cs := mp.Concepts
	for c := range cs.Maps {
		rc := results.Concept{Concept: c + 1}
		if c < len(cs.Labels) {
			for _, p := range cs.Labels[c] {
				rc.Labels = append(rc.Labels, results.Prediction{Class: p.Class, Label: x.preset.Label(p.Class), Score: p.Score})
			}
		}
		if x.s.save["map16"] {
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
	if x.s.save["overlay"] {
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
		img, err := render.ConceptOverlay(view, cs.Maps, w, h, x.o.alpha, legend)
		if err != nil {
			return err
		}
		if err := x.writePNG(ctx, rel+".png", img); err != nil {
			return err
		}
		rm.Overlay = rel + ".png"
	}
	if x.s.save["npy"] {
		all := make([]float32, 0, len(cs.Maps)*h*w)
		for _, m := range cs.Maps {
			all = append(all, m...)
		}
		var buf bytes.Buffer
		if err := npy.WriteFloat32(&buf, all, []int{len(cs.Maps), h, w}); err != nil {
			return err
		}
		if err := x.out.WriteFile(ctx, rel+".npy", buf.Bytes()); err != nil {
			return err
		}
		rm.NPY = rel + ".npy"
	}
	return nil
}

// writePNG encodes img as PNG into the output file name.
func (x *explainStages) writePNG(ctx context.Context, name string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("encoding %s: %w", name, err)
	}
	return x.out.WriteFile(ctx, name, buf.Bytes())
}
