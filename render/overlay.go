package render

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
)

// Overlay blends the heatmap m (row-major, mw×mh, values in [0,1]) coloured
// with cm over orig at orig's own resolution. The map's values are resized
// to orig's size with ResizeMap's bilinear interpolation (half-pixel
// centres) and only then coloured, so colours never blend into hues the
// colormap lacks. Each pixel is (1-alpha)·orig + alpha·colour, in
// premultiplied space so that transparent parts of orig stay transparent
// where alpha < 1; for an opaque orig that is the plain per-channel blend.
// alpha must be in [0,1].
//
// It returns a new image with bounds (0,0)–(orig's width, orig's height);
// orig is not modified. Large images are processed on up to GOMAXPROCS
// goroutines.
func Overlay(orig image.Image, m []float32, mw, mh int, cm Colormap, alpha float64) (*image.NRGBA, error) {
	if orig == nil {
		return nil, errors.New("render: overlay: nil image")
	}
	b := orig.Bounds()
	w, h := b.Dx(), b.Dy()
	if err := checkSize("image", w, h); err != nil {
		return nil, fmt.Errorf("render: overlay: %w", err)
	}
	if err := checkMap(m, mw, mh); err != nil {
		return nil, fmt.Errorf("render: overlay: %w", err)
	}
	if !cm.valid() {
		return nil, fmt.Errorf("render: overlay: %w", unknownColormap(string(cm)))
	}
	if !(alpha >= 0 && alpha <= 1) { // also rejects NaN
		return nil, fmt.Errorf("render: overlay: alpha %v outside [0,1]", alpha)
	}

	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	rs := newResampler(m, mw, mh, w, h)
	bl := blender{lut: cm.lut(), a: float32(alpha), ai: uint32(alpha*(1<<16) + 0.5)}
	parallel(h, minParallelPixels/w, func(lo, hi int) {
		vals := make([]float32, w)
		var band *image.RGBA
		for y0 := lo; y0 < hi; y0 += bandRows {
			y1 := min(y0+bandRows, hi)
			// Read orig's rows as 8-bit RGBA: NRGBA and RGBA images in
			// place, anything else converted by draw.Draw a band at a time,
			// which has fast paths for what decoders return (YCbCr for
			// JPEG, Gray, Paletted, ...) and yields premultiplied colour.
			var pix []uint8
			var stride int
			premul := true
			switch o := orig.(type) {
			case *image.NRGBA:
				pix, stride, premul = o.Pix[o.PixOffset(b.Min.X, b.Min.Y+y0):], o.Stride, false
			case *image.RGBA:
				pix, stride = o.Pix[o.PixOffset(b.Min.X, b.Min.Y+y0):], o.Stride
			default:
				if band == nil {
					band = image.NewRGBA(image.Rect(0, 0, w, bandRows))
				}
				draw.Draw(band, image.Rect(0, 0, w, y1-y0), orig, image.Pt(b.Min.X, b.Min.Y+y0), draw.Src)
				pix, stride = band.Pix, band.Stride
			}
			for y := y0; y < y1; y++ {
				rs.row(y, vals)
				src := pix[(y-y0)*stride : (y-y0)*stride+4*w]
				dst := out.Pix[y*out.Stride : y*out.Stride+4*w]
				bl.row(dst, src, vals, premul)
			}
		}
	})
	return out, nil
}

const (
	// minParallelPixels is the least work worth a goroutine of Overlay.
	minParallelPixels = 1 << 16
	// bandRows is how many rows of a converted original are kept at once:
	// enough to amortise draw.Draw's per-call set-up, little enough to stay
	// in cache.
	bandRows = 16
)

// blender blends colour-mapped values over rows of an original.
type blender struct {
	lut *[lutSize]color.NRGBA
	a   float32 // alpha
	ai  uint32  // alpha in 16.16 fixed point, for the opaque fast path
}

// row blends one row of values over src into dst (both 4 bytes per pixel;
// src premultiplied if premul, dst straight).
func (bl *blender) row(dst, src []uint8, vals []float32, premul bool) {
	keepi := 1<<16 - bl.ai
	for x, v := range vals {
		c := bl.lut[lutIndex(v)]
		s := src[4*x : 4*x+4 : 4*x+4]
		d := dst[4*x : 4*x+4 : 4*x+4]
		if s[3] == 0xff {
			// Opaque, the common case: integer blend, exact at alpha 0
			// and 1, within rounding of the float formula elsewhere.
			d[0] = uint8((uint32(s[0])*keepi + uint32(c.R)*bl.ai + 1<<15) >> 16)
			d[1] = uint8((uint32(s[1])*keepi + uint32(c.G)*bl.ai + 1<<15) >> 16)
			d[2] = uint8((uint32(s[2])*keepi + uint32(c.B)*bl.ai + 1<<15) >> 16)
			d[3] = 0xff
			continue
		}
		bl.translucent(d, s, c, premul)
	}
}

// translucent blends in premultiplied space, so that a transparent pixel's
// meaningless colour does not leak into the result, then converts back to
// straight colour.
func (bl *blender) translucent(d, s []uint8, c color.NRGBA, premul bool) {
	keep := 1 - bl.a
	sa := float32(s[3])
	k := float32(1)
	if !premul {
		k = sa / 255
	}
	oa := keep*sa + bl.a*255
	if oa <= 0 {
		d[0], d[1], d[2], d[3] = 0, 0, 0, 0
		return
	}
	u := 255 / oa
	d[0] = round8((keep*k*float32(s[0]) + bl.a*float32(c.R)) * u)
	d[1] = round8((keep*k*float32(s[1]) + bl.a*float32(c.G)) * u)
	d[2] = round8((keep*k*float32(s[2]) + bl.a*float32(c.B)) * u)
	d[3] = round8(oa)
}

// round8 rounds x to the nearest uint8, clamping to 0..255.
func round8(x float32) uint8 {
	return uint8(math.Max(0, math.Min(255, float64(x)+0.5)))
}

// Heatmap is the coloured map alone at mw×mh (no resizing, no blending),
// opaque.
func Heatmap(m []float32, mw, mh int, cm Colormap) (*image.NRGBA, error) {
	if err := checkMap(m, mw, mh); err != nil {
		return nil, fmt.Errorf("render: heatmap: %w", err)
	}
	if !cm.valid() {
		return nil, fmt.Errorf("render: heatmap: %w", unknownColormap(string(cm)))
	}
	out := image.NewNRGBA(image.Rect(0, 0, mw, mh))
	lut := cm.lut()
	for i, v := range m {
		c := lut[lutIndex(v)]
		p := out.Pix[4*i : 4*i+4 : 4*i+4]
		p[0], p[1], p[2], p[3] = c.R, c.G, c.B, c.A
	}
	return out, nil
}
