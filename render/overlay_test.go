package render

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"testing"
)

// noise returns a w×h opaque NRGBA image of random pixels.
func noise(w, h int, seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 0xff
		}
	}
	return img
}

// ramp returns a mw×mh map with values spread over [0,1].
func ramp(mw, mh int) []float32 {
	m := make([]float32, mw*mh)
	for i := range m {
		m[i] = float32(i) / float32(max(1, len(m)-1))
	}
	return m
}

// origs are the image types Overlay meets: decoders return YCbCr (JPEG),
// RGBA/NRGBA (PNG), Gray and Paletted, and sub-images have bounds that do
// not start at (0,0).
func origs(w, h int) map[string]image.Image {
	n := noise(w, h, 7)
	rgba := image.NewRGBA(n.Rect)
	ycc := image.NewYCbCr(n.Rect, image.YCbCrSubsampleRatio420)
	gray := image.NewGray(n.Rect)
	pal := image.NewPaletted(n.Rect, color.Palette{color.Black, color.White, color.NRGBA{200, 30, 40, 255}})
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := n.NRGBAAt(x, y)
			rgba.Set(x, y, c)
			gray.Set(x, y, c)
			pal.Set(x, y, c)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)] = yy
			ycc.Cb[ycc.COffset(x, y)] = cb
			ycc.Cr[ycc.COffset(x, y)] = cr
		}
	}
	big := noise(w+10, h+20, 9)
	offset := image.NewRGBA(image.Rect(-5, 3, w-5, h+3))
	draw.Draw(offset, offset.Rect, noise(w, h, 11), image.Point{}, draw.Src)
	return map[string]image.Image{
		"nrgba":       n,
		"rgba":        rgba,
		"ycbcr":       ycc,
		"gray":        gray,
		"paletted":    pal,
		"sub-nrgba":   big.SubImage(image.Rect(10, 20, w+10, h+20)),
		"offset-rgba": offset,
	}
}

// opaque converts any pixel to 8-bit straight colour.
func opaque(c color.Color) color.NRGBA { return color.NRGBAModel.Convert(c).(color.NRGBA) }

func TestOverlayAlphaEnds(t *testing.T) {
	const w, h, mw, mh = 37, 23, 5, 4
	m := ramp(mw, mh)
	vals, err := ResizeMap(m, mw, mh, w, h)
	if err != nil {
		t.Fatal(err)
	}
	for name, orig := range origs(w, h) {
		for _, cm := range Colormaps() {
			t.Run(name+"/"+string(cm), func(t *testing.T) {
				b := orig.Bounds()
				for _, tt := range []struct {
					alpha float64
					want  func(x, y int) color.NRGBA
				}{
					{0, func(x, y int) color.NRGBA { return opaque(orig.At(b.Min.X+x, b.Min.Y+y)) }},
					{1, func(x, y int) color.NRGBA { return cm.Color(vals[y*w+x]) }},
				} {
					out, err := Overlay(orig, m, mw, mh, cm, tt.alpha)
					if err != nil {
						t.Fatal(err)
					}
					if got := out.Bounds(); got != image.Rect(0, 0, w, h) {
						t.Fatalf("bounds %v, want %v", got, image.Rect(0, 0, w, h))
					}
					for y := 0; y < h; y++ {
						for x := 0; x < w; x++ {
							if got, want := out.NRGBAAt(x, y), tt.want(x, y); got != want {
								t.Fatalf("alpha %v: pixel (%d,%d) = %v, want %v", tt.alpha, x, y, got, want)
							}
						}
					}
				}
			})
		}
	}
}

func TestOverlayHalfAlpha(t *testing.T) {
	orig := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := range orig.Pix {
		orig.Pix[i] = []uint8{200, 100, 0, 255}[i%4]
	}
	out, err := Overlay(orig, []float32{1}, 1, 1, Jet, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	// jet(1) = (128,0,0): halfway is (164,50,0).
	if got, want := out.NRGBAAt(2, 3), rgb(164, 50, 0); got != want {
		t.Fatalf("pixel = %v, want %v", got, want)
	}
}

func TestOverlayTranslucent(t *testing.T) {
	tests := []struct {
		name  string
		orig  color.NRGBA
		alpha float64
		want  color.NRGBA
	}{
		{"transparent stays transparent", color.NRGBA{10, 20, 30, 0}, 0, color.NRGBA{0, 0, 0, 0}},
		{"alpha 1 is opaque colour", color.NRGBA{10, 20, 30, 0}, 1, rgb(128, 0, 0)},
		{"half over transparent is half-opaque colour", color.NRGBA{10, 20, 30, 0}, 0.5, color.NRGBA{128, 0, 0, 128}},
		{"translucent kept at alpha 0", color.NRGBA{10, 20, 30, 100}, 0, color.NRGBA{10, 20, 30, 100}},
		// premultiplied: (0.5·200·128/255 + 0.5·128) / (0.5·128+127.5) · 255
		{"half over half-opaque", color.NRGBA{200, 0, 0, 128}, 0.5, color.NRGBA{152, 0, 0, 192}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := image.NewNRGBA(image.Rect(0, 0, 2, 2))
			for i := 0; i < 4; i++ {
				orig.SetNRGBA(i%2, i/2, tt.orig)
			}
			out, err := Overlay(orig, []float32{1}, 1, 1, Jet, tt.alpha)
			if err != nil {
				t.Fatal(err)
			}
			if got := out.NRGBAAt(1, 1); !near(got, tt.want, 1) || abs(int(got.A)-int(tt.want.A)) > 1 {
				t.Fatalf("pixel = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestOverlayHotCell puts one hot cell in a cold map and checks that the
// hottest overlay pixel lands at that cell's centre scaled to the original.
// Viridis is used because its green channel rises monotonically, so the
// greenest pixel is the hottest one.
func TestOverlayHotCell(t *testing.T) {
	tests := []struct {
		name           string
		mw, mh, cx, cy int
		w, h           int
		alpha          float64
	}{
		{"7×7 over 700×350", 7, 7, 5, 2, 700, 350, 1},
		{"14×14 over 640×480", 14, 14, 3, 11, 640, 480, 0.5},
		{"corner cell", 4, 3, 0, 0, 400, 300, 1},
		{"far corner, odd sizes", 5, 3, 4, 2, 333, 97, 0.4},
		{"non-square map", 10, 2, 6, 1, 200, 200, 0.7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := make([]float32, tt.mw*tt.mh)
			m[tt.cy*tt.mw+tt.cx] = 1
			orig := image.NewGray(image.Rect(0, 0, tt.w, tt.h))
			for i := range orig.Pix {
				orig.Pix[i] = 90
			}
			out, err := Overlay(orig, m, tt.mw, tt.mh, Viridis, tt.alpha)
			if err != nil {
				t.Fatal(err)
			}
			best, bx, by := -1, 0, 0
			for y := 0; y < tt.h; y++ {
				for x := 0; x < tt.w; x++ {
					if g := int(out.NRGBAAt(x, y).G); g > best {
						best, bx, by = g, x, y
					}
				}
			}
			// The cell's region of the original, and its centre: pixel x
			// samples the map at (x+0.5)·mw/w − 0.5, which is cx at
			// x = (cx+0.5)·w/mw − 0.5; edge cells are flat out to the border.
			sx, sy := float64(tt.w)/float64(tt.mw), float64(tt.h)/float64(tt.mh)
			x0, x1 := int(float64(tt.cx)*sx), int(float64(tt.cx+1)*sx)
			y0, y1 := int(float64(tt.cy)*sy), int(float64(tt.cy+1)*sy)
			if bx < x0 || bx >= x1 || by < y0 || by >= y1 {
				t.Fatalf("hottest pixel (%d,%d) outside the cell's region [%d,%d)×[%d,%d)", bx, by, x0, x1, y0, y1)
			}
			cx, cy := (float64(tt.cx)+0.5)*sx-0.5, (float64(tt.cy)+0.5)*sy-0.5
			if tt.cx > 0 && tt.cx < tt.mw-1 && math.Abs(float64(bx)-cx) > 1 {
				t.Errorf("hottest x = %d, want %.1f±1", bx, cx)
			}
			if tt.cy > 0 && tt.cy < tt.mh-1 && math.Abs(float64(by)-cy) > 1 {
				t.Errorf("hottest y = %d, want %.1f±1", by, cy)
			}
			// The corner farthest from the cell samples a cold edge cell
			// exactly, so it shows the cold colour.
			cold := blend(color.NRGBA{90, 90, 90, 255}, Viridis.Color(0), tt.alpha)
			fx, fy := 0, 0
			if tt.cx < tt.mw/2 {
				fx = tt.w - 1
			}
			if tt.cy < tt.mh/2 {
				fy = tt.h - 1
			}
			if got := out.NRGBAAt(fx, fy); !near(got, cold, 1) {
				t.Errorf("far corner (%d,%d) = %v, want %v", fx, fy, got, cold)
			}
		})
	}
}

// blend is the documented formula for opaque colours, written plainly.
func blend(o, c color.NRGBA, a float64) color.NRGBA {
	f := func(x, y uint8) uint8 { return uint8(math.Round((1-a)*float64(x) + a*float64(y))) }
	return color.NRGBA{f(o.R, c.R), f(o.G, c.G), f(o.B, c.B), 255}
}

func TestOverlayErrors(t *testing.T) {
	img := noise(8, 8, 1)
	good := []float32{0, 1, 1, 0}
	tests := []struct {
		name   string
		orig   image.Image
		m      []float32
		mw, mh int
		cm     Colormap
		alpha  float64
	}{
		{"nil image", nil, good, 2, 2, Jet, 0.5},
		{"empty image", image.NewNRGBA(image.Rect(3, 3, 3, 9)), good, 2, 2, Jet, 0.5},
		{"short map", img, good[:3], 2, 2, Jet, 0.5},
		{"wrong dims", img, good, 3, 2, Jet, 0.5},
		{"zero dims", img, nil, 0, 0, Jet, 0.5},
		{"negative dims", img, good, -2, -2, Jet, 0.5},
		{"unknown colormap", img, good, 2, 2, "hot", 0.5},
		{"empty colormap", img, good, 2, 2, "", 0.5},
		{"alpha below 0", img, good, 2, 2, Jet, -0.1},
		{"alpha above 1", img, good, 2, 2, Jet, 1.1},
		{"alpha NaN", img, good, 2, 2, Jet, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out, err := Overlay(tt.orig, tt.m, tt.mw, tt.mh, tt.cm, tt.alpha); err == nil {
				t.Fatalf("Overlay = %v, want error", out.Bounds())
			}
		})
	}
}

func TestHeatmap(t *testing.T) {
	tests := []struct {
		name    string
		m       []float32
		mw, mh  int
		cm      Colormap
		wantErr bool
	}{
		{"ramp jet", ramp(4, 3), 4, 3, Jet, false},
		{"ramp viridis 1×1", []float32{0.4}, 1, 1, Viridis, false},
		{"out of range values", []float32{-1, 2, float32(math.NaN()), 0.5}, 2, 2, Turbo, false},
		{"size mismatch", ramp(4, 3), 3, 3, Jet, true},
		{"zero size", nil, 0, 3, Jet, true},
		{"unknown colormap", ramp(2, 2), 2, 2, "gray", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Heatmap(tt.m, tt.mw, tt.mh, tt.cm)
			if tt.wantErr {
				if err == nil {
					t.Fatal("want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Bounds(); got != image.Rect(0, 0, tt.mw, tt.mh) {
				t.Fatalf("bounds %v", got)
			}
			for i, v := range tt.m {
				if got, want := out.NRGBAAt(i%tt.mw, i/tt.mw), tt.cm.Color(v); got != want {
					t.Fatalf("cell %d = %v, want %v", i, got, want)
				}
			}
		})
	}
}

func BenchmarkOverlay(b *testing.B) {
	const w, h, mw, mh = 640, 480, 14, 14
	m := ramp(mw, mh)
	imgs := origs(w, h)
	for _, name := range []string{"ycbcr", "nrgba"} {
		for _, cm := range Colormaps() {
			b.Run(name+"/"+string(cm), func(b *testing.B) {
				b.SetBytes(w * h * 4)
				for b.Loop() {
					if _, err := Overlay(imgs[name], m, mw, mh, cm, 0.4); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkHeatmap(b *testing.B) {
	m := ramp(224, 224)
	for b.Loop() {
		if _, err := Heatmap(m, 224, 224, Turbo); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOverlayMatchesReference checks the banded, parallel, fixed-point
// Overlay against the documented formula computed plainly, on an image big
// enough to be split across goroutines and bands.
func TestOverlayMatchesReference(t *testing.T) {
	const w, h, mw, mh = 611, 257, 9, 6
	m := ramp(mw, mh)
	m[7], m[20] = -0.5, 1.5 // clamped
	vals, err := ResizeMap(m, mw, mh, w, h)
	if err != nil {
		t.Fatal(err)
	}
	for name, orig := range origs(w, h) {
		for _, alpha := range []float64{0.25, 0.6} {
			out, err := Overlay(orig, m, mw, mh, Turbo, alpha)
			if err != nil {
				t.Fatal(err)
			}
			b := orig.Bounds()
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					want := blend(opaque(orig.At(b.Min.X+x, b.Min.Y+y)), Turbo.Color(vals[y*w+x]), alpha)
					if got := out.NRGBAAt(x, y); !near(got, want, 1) {
						t.Fatalf("%s alpha %v: pixel (%d,%d) = %v, want %v", name, alpha, x, y, got, want)
					}
				}
			}
		}
	}
}
