package tfimage

import (
	"context"
	"errors"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/internal/fixture"
)

// TestDecodeBudget: an image is refused from its header exactly when its
// decoded pixels × the bytes per pixel of the way it is decoded exceed
// MaxBytes — a JPEG counted at the size DCT scaling decodes it — and
// decoded at the budget itself.
func TestDecodeBudget(t *testing.T) {
	const W, H = 64, 48 // model input; no view
	cases := []struct {
		name, format string
		w, h         int
		alpha        bool
		need         int64 // bytes the budget charges
	}{
		{"opaque png", "png", 300, 200, false, 300 * 200 * BytesPerPixel.Opaque},
		{"png with alpha", "png", 120, 100, true, 120 * 100 * BytesPerPixel.Alpha},
		{"paletted png (tRNS-free) is opaque", "png-paletted", 120, 100, false, 120 * 100 * BytesPerPixel.Opaque},
		// A JPEG is decoded at least ModelOversample (4) times the model
		// input: 256×192.
		{"jpeg at 1/8", "jpeg", 2048, 1600, false, 256 * 200 * BytesPerPixel.Opaque},
		{"jpeg at 1/2: 1/4 is under 4x the model input", "jpeg", 800, 600, false, 400 * 300 * BytesPerPixel.Opaque},
		{"jpeg in full: 1/2 is under 4x the model input", "jpeg", 500, 380, false, 500 * 380 * BytesPerPixel.Opaque},
		{"gif by Go", "gif", 120, 100, false, 120 * 100 * BytesPerPixel.Go},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := encodeAs(t, tc.format, scene(tc.w, tc.h, tc.alpha))
			for _, budget := range []int64{tc.need, tc.need - 1} {
				d, err := NewDecoder(DecodeOptions{Width: W, Height: H, Channels: 3, Preprocess: imagefile.Unit, MaxBytes: budget})
				if err != nil {
					t.Fatal(err)
				}
				got, err := d.Decode(context.Background(), data, tc.name)
				got.Release()
				d.Close()
				switch {
				case budget == tc.need && err != nil:
					t.Errorf("budget %d (exactly what it needs): %v", budget, err)
				case budget < tc.need && !errors.Is(err, imagefile.ErrTooLarge):
					t.Errorf("budget %d (1 byte short): error %v, want ErrTooLarge", budget, err)
				case budget < tc.need && !strings.Contains(err.Error(), tc.name) && !strings.Contains(err.Error(), "budget"):
					t.Errorf("budget %d: the error %q names neither the image nor the budget", budget, err)
				}
			}
		})
	}
}

// TestDecodeOpaquePNG: a PNG without alpha is resampled from its bytes
// (3 channels, no float32 copy); its model input equals that of the same
// pixels stored with an opaque alpha channel (the premultiplying path) to
// within float32 rounding of that path (alpha 255·(1/255) and a
// resampled alpha of 1−ε composited over white: ~1e-5 of a level).
func TestDecodeOpaquePNG(t *testing.T) {
	img := scene(200, 150, false)
	rgb := encodeAs(t, "png", img) // Go writes an all-opaque NRGBA as RGB
	if imagefile.PNGHasAlpha(rgb) {
		t.Fatal("Go's PNG of an opaque image has alpha: the test needs an RGB PNG")
	}
	rgba := pngWithAlphaChannel(t, img)
	if !imagefile.PNGHasAlpha(rgba) {
		t.Fatal("the RGBA PNG has no alpha")
	}
	d, err := NewDecoder(DecodeOptions{Width: 64, Height: 48, Channels: 3, Preprocess: imagefile.Raw, ViewSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	a, err := d.Decode(context.Background(), rgb, "rgb")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	b, err := d.Decode(context.Background(), rgba, "rgba")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if _, most := diff(a.Pixels, b.Pixels, 1); most > 1e-3 {
		t.Errorf("opaque path vs alpha path: max %g levels apart", most)
	}
}

// pngWithAlphaChannel writes img as an 8-bit RGBA PNG (colour type 6)
// even when it is opaque, which Go's encoder would write as RGB.
func pngWithAlphaChannel(t *testing.T, img *image.NRGBA) []byte {
	t.Helper()
	b := img.Bounds()
	data, err := fixture.RawPNG(b.Dx(), b.Dy(), 6, func(y int) []byte { return img.Pix[y*img.Stride : y*img.Stride+4*b.Dx()] })
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDecodeLowBitPNG: 1-, 2- and 4-bit PNGs, with transparency or
// without, decode to the model input of the same picture stored as an
// 8-bit RGBA PNG. TensorFlow's decoder asked for an alpha channel fills
// low-bit ones without transparency with a wrong alpha (the picture came
// out near-white: a black-and-white cat was a "matchstick"); they are
// decoded as RGB, without alpha.
func TestDecodeLowBitPNG(t *testing.T) {
	const w, h = 96, 64
	black, white, clear := color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}, color.NRGBA{0, 0, 0, 0}
	grey := func(v uint8) color.NRGBA { return color.NRGBA{v, v, v, 255} }
	cases := []struct {
		name string
		pal  color.Palette // its size sets the bit depth Go writes
	}{
		{"1-bit", color.Palette{black, white}},
		{"1-bit with transparency", color.Palette{clear, white}},
		{"2-bit", color.Palette{black, grey(85), grey(170), white}},
		{"2-bit with transparency", color.Palette{clear, grey(85), grey(170), white}},
		{"4-bit", color.Palette{black, grey(40), grey(80), grey(120), grey(160), white}},
	}
	d, err := NewDecoder(DecodeOptions{Width: 32, Height: 24, Channels: 3, Preprocess: imagefile.Raw})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pal := image.NewPaletted(image.Rect(0, 0, w, h), tc.pal)
			deep := image.NewNRGBA(pal.Rect)
			for y := range h {
				for x := range w {
					i := uint8((x/8 + y/8) % len(tc.pal)) // a checkerboard of the palette
					pal.SetColorIndex(x, y, i)
					deep.Set(x, y, tc.pal[i])
				}
			}
			low, full := encodeAs(t, "png", pal), pngWithAlphaChannel(t, deep)
			if depth := low[24]; depth >= 8 {
				t.Fatalf("Go wrote a %d-bit PNG; the test needs fewer bits", depth)
			}
			a, err := d.Decode(context.Background(), low, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Release()
			b, err := d.Decode(context.Background(), full, "8-bit")
			if err != nil {
				t.Fatal(err)
			}
			defer b.Release()
			if mean, most := diff(a.Pixels, b.Pixels, 1); most > 1 {
				t.Errorf("%d-bit PNG vs the same picture in 8-bit RGBA: mean %.2f, max %.0f levels apart", low[24], mean, most)
			}
		})
	}
}
