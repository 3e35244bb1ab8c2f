package tfimage

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"slices"
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
			dec := sceneDecoded(t, mw, mh)
			maps := testMaps(2, mw, mh)
			r, err := NewRenderer(RenderOptions{Maps: 2, MapWidth: mw, MapHeight: mh, Overlay: true, Colormap: cm, Alpha: 0.4, Quality: 95, PNG: tc.png, Map16: true, Thumbnail: 64})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := r.Render(context.Background(), dec.View, maps, nil)
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

// sceneDecoded decodes the 320×200 test scene for a mw×mh model with a
// view of at most 160 px, released when the test ends.
func sceneDecoded(t *testing.T, mw, mh int) *Decoded {
	t.Helper()
	d, err := NewDecoder(DecodeOptions{Width: mw, Height: mh, Channels: 3, Preprocess: imagefile.Unit, ViewSize: 160})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	dec, err := d.Decode(context.Background(), encodeAs(t, "png", scene(320, 200, false)), "scene")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dec.Release)
	return dec
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

// TestRenderStyles checks each overlay style against the formula written
// out per pixel in Go (render.ResizeMap for the resize): a heatmap in the
// styled graph is render.Overlay's; a pixel-gradient map is a gray image
// of the map alone, white at its 99th percentile (the k-th largest of its
// 32×24 values, k = 8) and clipped above; a signed map is the view with
// red above its zero and blue below, opaque in proportion to the distance
// from zero over that distance's 99th percentile (clipped at 1), times
// 2α. PNG overlays, so the tolerance is rounding: mean ≤ 0.05, max ≤ 1 level. Drawing the
// gradient or signed map as a heatmap misses by tens of levels.
func TestRenderStyles(t *testing.T) {
	const mw, mh, alpha = 32, 24, 0.4
	dec := sceneDecoded(t, mw, mh)
	view := viewImage(t, dec)
	heat := testMaps(1, mw, mh)[0]
	// Sparse: low noise, a few strong pixels, one outlier at 1.
	grad := make([]float32, mw*mh)
	for i := range grad {
		grad[i] = float32((i*37)%101) / 101 * 0.05
	}
	for _, i := range []int{40, 41, 300, 301, 302, 500, 650, 651, 700} {
		grad[i] = 0.3 + 0.02*float32(i%7)
	}
	grad[200] = 1
	// Signed: a ramp from 0.1 to 0.7 around a zero at 0.4, and one
	// outlier at 1 that the percentile must ignore.
	signed := make([]float32, mw*mh)
	for i := range signed {
		signed[i] = 0.1 + 0.6*float32(i%mw)/float32(mw-1)
	}
	signed[50] = 1
	const zero = 0.4
	maps := [][]float32{heat, grad, signed}
	styles := []MapStyle{{Style: render.StyleHeat}, {Style: render.StyleGradient}, {Style: render.StyleSigned, Zero: zero}}
	r, err := NewRenderer(RenderOptions{Maps: 3, MapWidth: mw, MapHeight: mh, Overlay: true, Colormap: render.Jet, Alpha: alpha, PNG: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Render(context.Background(), dec.View, maps, styles)
	if err != nil {
		t.Fatal(err)
	}
	vw, vh := view.Bounds().Dx(), view.Bounds().Dy()
	sorted := append([]float32(nil), grad...)
	slices.Sort(sorted)
	p99 := sorted[len(sorted)-8]
	devs := make([]float64, len(signed))
	for i, v := range signed {
		devs[i] = math.Abs(float64(v) - zero)
	}
	slices.Sort(devs)
	sdev := devs[len(devs)-8]
	want := make([]*image.NRGBA, 3)
	want[0], err = render.Overlay(view, heat, mw, mh, render.Jet, alpha)
	if err != nil {
		t.Fatal(err)
	}
	for k, m := range maps[1:] {
		up, err := render.ResizeMap(m, mw, mh, vw, vh)
		if err != nil {
			t.Fatal(err)
		}
		img := image.NewNRGBA(image.Rect(0, 0, vw, vh))
		for i, v := range up {
			src := view.Pix[4*i : 4*i+3]
			dst := img.Pix[4*i : 4*i+4]
			dst[3] = 255
			if k == 0 { // gradient
				g := math.Round(math.Min(float64(v)/float64(p99), 1) * 4095)
				copy(dst, []uint8{0, 0, 0})
				for c := range 3 {
					dst[c] = uint8(math.Round(g * 255 / 4095))
				}
				continue
			}
			s := math.Max(-1, math.Min(1, (float64(v)-zero)/sdev)) // [-1,1]
			col := render.SignedColors.For
			if s < 0 {
				col = render.SignedColors.Against
			}
			a := math.Abs(s) * math.Min(1, 2*alpha)
			for c := range 3 {
				dst[c] = uint8(float64(src[c])*(1-a) + float64(col[c])*a + 0.5)
			}
		}
		want[k+1] = img
	}
	for k := range maps {
		ov, _, err := image.Decode(bytes.NewReader(got.Overlays[k]))
		if err != nil {
			t.Fatal(err)
		}
		mean, most := imageDiff(ov, want[k])
		t.Logf("%s: mean %.3f max %.0f levels", styles[k].Style, mean, most)
		if mean > 0.05 || most > 1 {
			t.Errorf("%s overlay differs from the formula: mean %.3f max %.0f levels", styles[k].Style, mean, most)
		}
	}
	// The same maps as heatmaps are far from the styled overlays.
	plain, err := r.Render(context.Background(), dec.View, maps, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k < 3; k++ {
		ov, _, _ := image.Decode(bytes.NewReader(plain.Overlays[k]))
		if mean, _ := imageDiff(ov, want[k]); mean < 10 {
			t.Errorf("%s: a heatmap is within %.1f levels of the styled overlay: the test cannot tell them apart", styles[k].Style, mean)
		}
	}
	if _, err := r.Render(context.Background(), dec.View, maps, styles[:2]); err == nil {
		t.Error("2 styles for 3 maps accepted")
	}
}
