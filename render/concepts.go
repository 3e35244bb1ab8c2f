package render

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// ConceptColors returns n well-separated colours: hues evenly spaced around
// the HSV circle at full saturation and value (pytorch-grad-cam's hsv
// colours for concepts, i/n for concept i).
func ConceptColors(n int) []color.NRGBA {
	out := make([]color.NRGBA, n)
	for i := range out {
		h := 6 * float64(i) / float64(n) // sector 0..6
		x := 1 - math.Abs(math.Mod(h, 2)-1)
		var r, g, b float64
		switch int(h) {
		case 0:
			r, g = 1, x
		case 1:
			r, g = x, 1
		case 2:
			g, b = 1, x
		case 3:
			g, b = x, 1
		case 4:
			r, b = x, 1
		default:
			r, b = 1, x
		}
		out[i] = color.NRGBA{to8(float32(r)), to8(float32(g)), to8(float32(b)), 255}
	}
	return out
}

// legendRow is the height of one legend line in pixels (basicfont's 13 px
// face and a margin).
const legendRow = 16

// ConceptOverlay draws concept maps over orig: maps[c] are concept c's
// row-major mw×mh maps in [0,1], resized bilinearly to orig's size as in
// Overlay. Each pixel takes the colour of its strongest concept (the
// largest value; ties to the first) scaled by that value, blended as
// (1-alpha)·orig + alpha·colour·value, so weak regions show the image. A
// legend below the image gives each concept's colour and labels[c], a
// line each. It returns a new image as wide as orig or the legend's
// longest line, as high as orig and the legend (white where orig is not);
// orig is not modified.
func ConceptOverlay(orig image.Image, maps [][]float32, mw, mh int, alpha float64, labels []string) (*image.NRGBA, error) {
	if orig == nil {
		return nil, errors.New("render: concept overlay: nil image")
	}
	if len(maps) == 0 {
		return nil, errors.New("render: concept overlay: no concept maps")
	}
	if len(labels) != len(maps) {
		return nil, fmt.Errorf("render: concept overlay: %d labels for %d concepts", len(labels), len(maps))
	}
	if !(alpha >= 0 && alpha <= 1) {
		return nil, fmt.Errorf("render: concept overlay: alpha %v outside [0,1]", alpha)
	}
	b := orig.Bounds()
	w, h := b.Dx(), b.Dy()
	if err := checkSize("image", w, h); err != nil {
		return nil, fmt.Errorf("render: concept overlay: %w", err)
	}
	resized := make([][]float32, len(maps))
	for c, m := range maps {
		r, err := ResizeMap(m, mw, mh, w, h)
		if err != nil {
			return nil, fmt.Errorf("render: concept overlay: concept %d: %w", c, err)
		}
		resized[c] = r
	}
	colors := ConceptColors(len(maps))
	d := font.Drawer{Src: image.Black, Face: basicfont.Face7x13}
	width := w
	for _, label := range labels {
		width = max(width, 24+d.MeasureString(label).Ceil())
	}
	out := image.NewNRGBA(image.Rect(0, 0, width, h+legendRow*len(maps)+4))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(out, image.Rect(0, 0, w, h), orig, b.Min, draw.Src)
	a := float32(alpha)
	parallel(h, minParallelPixels/w, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			for x := range w {
				i := y*w + x
				best, v := 0, float32(math.Inf(-1))
				for c, r := range resized {
					if r[i] > v {
						best, v = c, r[i]
					}
				}
				v = clamp01(v) // NaN → 0
				col := colors[best]
				p := out.Pix[out.PixOffset(x, y):]
				p[0] = round8((1-a)*float32(p[0]) + a*v*float32(col.R))
				p[1] = round8((1-a)*float32(p[1]) + a*v*float32(col.G))
				p[2] = round8((1-a)*float32(p[2]) + a*v*float32(col.B))
			}
		}
	})
	d.Dst = out
	for c, label := range labels {
		y := h + 2 + c*legendRow
		draw.Draw(out, image.Rect(4, y+2, 16, y+14), image.NewUniform(colors[c]), image.Point{}, draw.Src)
		d.Dot = fixed.P(20, y+12)
		d.DrawString(label)
	}
	return out, nil
}
