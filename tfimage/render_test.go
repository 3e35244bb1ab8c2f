package tfimage

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/render"
)

// testMaps returns n smooth maps of w×h in [0,1], one radial blob each.
func testMaps(n, w, h int) [][]float32 {
	var out [][]float32
	for k := 0; k < n; k++ {
		m := make([]float32, w*h)
		cx, cy := float64(w)*(0.3+0.2*float64(k)), float64(h)*0.4
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				d := math.Hypot(float64(x)-cx, float64(y)-cy) / float64(w)
				m[y*w+x] = float32(math.Exp(-8 * d * d))
			}
		}
		out = append(out, m)
	}
	return out
}

// TestRenderMatchesGo checks the TensorFlow overlay, 16-bit map and
// thumbnail against render's Go implementation on the same view and maps.
// The 16-bit PNGs are lossless, so they must agree to one level (rounding
// of exact halves). PNG overlays are lossless and the same
// arithmetic: mean ≤ 0.05, max ≤ 1 level (measured: identical). JPEG
// overlays (quality 95, chroma subsampled): mean ≤ 2.5, any max (a sharp
// yellow/blue edge loses ~100 levels of chroma in any JPEG). A wrong
// colormap, opacity or map orientation differs by tens of levels on average.
func TestRenderMatchesGo(t *testing.T) {
	const mw, mh = 32, 24
	for _, tc := range []struct {
		cm         render.Colormap
		png        bool
		mean, most float64
	}{
		{render.Jet, true, 0.05, 1}, {render.Turbo, true, 0.05, 1}, {render.Viridis, true, 0.05, 1},
		{render.Jet, false, 2.5, 255},
	} {
		cm := tc.cm
		t.Run(fmt.Sprintf("%s png=%v", cm, tc.png), func(t *testing.T) {
			d, err := NewDecoder(DecodeOptions{Width: mw, Height: mh, Channels: 3, Preprocess: imagefile.Unit, ViewSize: 160})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			dec, err := d.Decode(context.Background(), encodeAs(t, "png", scene(320, 200, false)), "scene")
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Release()
			maps := testMaps(2, mw, mh)
			r, err := NewRenderer(RenderOptions{Maps: 2, MapWidth: mw, MapHeight: mh, Overlay: true, Colormap: cm, Alpha: 0.4, Quality: 95, PNG: tc.png, Map16: true, Thumbnail: 64})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := r.Render(context.Background(), dec.View, maps)
			if err != nil {
				t.Fatal(err)
			}
			view := viewImage(t, dec)
			for k := range maps {
				want, err := render.Overlay(view, maps[k], mw, mh, cm, 0.4)
				if err != nil {
					t.Fatal(err)
				}
				ov, _, err := image.Decode(bytes.NewReader(got.Overlays[k]))
				if err != nil {
					t.Fatal(err)
				}
				mean, most := imageDiff(ov, want)
				t.Logf("overlay %d: mean %.2f max %.0f levels", k, mean, most)
				if mean > tc.mean || most > tc.most {
					t.Errorf("overlay %d differs from render.Overlay: mean %.2f max %.0f", k, mean, most)
				}
				g16, err := png.Decode(bytes.NewReader(got.Map16[k]))
				if err != nil {
					t.Fatal(err)
				}
				want16, _ := render.Gray16(maps[k], mw, mh)
				gg, ok := g16.(*image.Gray16)
				if !ok {
					t.Fatalf("map16 is %T, want *image.Gray16", g16)
				}
				for i := 0; i < mw*mh; i++ {
					a := int(gg.Pix[2*i])<<8 | int(gg.Pix[2*i+1])
					b := int(want16.Pix[2*i])<<8 | int(want16.Pix[2*i+1])
					if a-b > 1 || b-a > 1 {
						t.Fatalf("map16 %d value %d: %d, render.Gray16 %d", k, i, a, b)
					}
				}
			}
			th, err := jpeg.Decode(bytes.NewReader(got.Thumbnail))
			if err != nil {
				t.Fatal(err)
			}
			if b := th.Bounds(); b.Dx() != 64 || b.Dy() != 40 {
				t.Errorf("thumbnail %dx%d, want 64x40", b.Dx(), b.Dy())
			}
		})
	}
}

// viewImage copies a decoded view into a Go image.
func viewImage(t *testing.T, d *Decoded) *image.NRGBA {
	v, ok := d.View.Value().([][][]uint8)
	if !ok {
		t.Fatalf("view is %T", d.View.Value())
	}
	img := image.NewNRGBA(image.Rect(0, 0, d.ViewWidth, d.ViewHeight))
	for y, row := range v {
		for x, px := range row {
			i := img.PixOffset(x, y)
			copy(img.Pix[i:i+3], px)
			img.Pix[i+3] = 255
		}
	}
	return img
}

func imageDiff(a image.Image, b *image.NRGBA) (mean, most float64) {
	bd := b.Bounds()
	n := 0
	for y := 0; y < bd.Dy(); y++ {
		for x := 0; x < bd.Dx(); x++ {
			r, g, bb, _ := a.At(x, y).RGBA()
			c := b.NRGBAAt(x, y)
			for k, v := range []uint32{r >> 8, g >> 8, bb >> 8} {
				d := math.Abs(float64(v) - float64([]uint8{c.R, c.G, c.B}[k]))
				mean += d
				most = math.Max(most, d)
				n++
			}
		}
	}
	return mean / float64(n), most
}
