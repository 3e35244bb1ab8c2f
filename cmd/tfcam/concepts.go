package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"strings"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/npy"
	"github.com/tfcam/tfcam/render"
	"github.com/tfcam/tfcam/tfimage"
)

// recordConcept is one concept of a concept method's map (dff) in an
// image's JSON line.
type recordConcept struct {
	// Concept numbers the concept from 1, as its file name.
	Concept int    `json:"concept"`
	Map16   string `json:"map16,omitempty"`
	// Labels are the concept's top classes with the probability the
	// model's head gives the concept.
	Labels []recordPrediction `json:"labels,omitempty"`
}

// legendLabels is how many of a concept's top classes the overlay's
// legend names.
const legendLabels = 2

// writeConcepts writes the files of a map with concepts (explainer.Map's
// Concepts) under rel: instead of a heatmap overlay, rel.png, the image
// with each pixel in the colour of its strongest concept and a legend of
// the concepts' labels (overlay); rel.concept<c>.map16.png per concept
// (map16); rel.npy, the normalised concept maps as one float32 [n,H,W]
// (npy). It fills rm's file names and concepts.
func (x *explainStages) writeConcepts(it *item, mp explainer.Map, rel string, rm *recordMap) error {
	h, w := x.e.InputSize()
	cs := mp.Concepts
	for c := range cs.Maps {
		rc := recordConcept{Concept: c + 1}
		if c < len(cs.Labels) {
			for _, p := range cs.Labels[c] {
				rc.Labels = append(rc.Labels, recordPrediction{p.Class, x.preset.Label(p.Class), p.Score})
			}
		}
		if x.s.save["map16"] {
			name := fmt.Sprintf("%s.concept%d.map16.png", rel, c+1)
			g, err := render.Gray16(cs.Maps[c], w, h)
			if err != nil {
				return err
			}
			if err := x.writePNG(name, g); err != nil {
				return err
			}
			rc.Map16 = name
		}
		rm.Concepts = append(rm.Concepts, rc)
	}
	if x.s.save["overlay"] {
		view, err := tfimage.ViewImage(it.dec.View)
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
		if err := x.writePNG(rel+".png", img); err != nil {
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
		if err := x.out.writeFile(rel+".npy", buf.Bytes()); err != nil {
			return err
		}
		rm.NPY = rel + ".npy"
	}
	return nil
}

// writePNG encodes img as PNG into the output file name.
func (x *explainStages) writePNG(name string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("encoding %s: %w", name, err)
	}
	return x.out.writeFile(name, buf.Bytes())
}
