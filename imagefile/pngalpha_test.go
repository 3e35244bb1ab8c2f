package imagefile

import (
	"bytes"
	"image"
	"image/color"
	"image/color/palette"
	"image/png"
	"testing"
)

// TestPNGHasAlpha: transparency is found in the colour type or a tRNS
// chunk (palette entries, or a transparent colour of a grey or RGB PNG);
// data that is not a parsable PNG counts as having alpha (the path right
// for every PNG).
func TestPNGHasAlpha(t *testing.T) {
	enc := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	r := image.Rect(0, 0, 4, 3)
	opaque := image.NewNRGBA(r)
	translucent := image.NewNRGBA(r)
	for i := range opaque.Pix {
		opaque.Pix[i], translucent.Pix[i] = 255, 255
	}
	translucent.Pix[3] = 128
	pal := image.NewPaletted(r, palette.Plan9)
	palT := image.NewPaletted(r, color.Palette{color.NRGBA{0, 0, 0, 0}, color.NRGBA{255, 0, 0, 255}})
	grayA := image.NewNRGBA(r) // grey levels with alpha: Go writes colour type 6
	rgb := enc(opaque)
	// An RGB PNG with a tRNS chunk (a transparent colour) before IDAT.
	withTRNS := append(append(append([]byte{}, rgb[:33]...), 0, 0, 0, 6, 't', 'R', 'N', 'S', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), rgb[33:]...)
	cases := []struct {
		name string
		data []byte
		want bool
	}{
		{"rgb", rgb, false},
		{"rgba", enc(translucent), true},
		{"gray", enc(image.NewGray(r)), false},
		{"gray16", enc(image.NewGray16(r)), false},
		{"nrgba of greys", enc(grayA), true},
		{"paletted opaque", enc(pal), false},
		{"paletted with a transparent entry", enc(palT), true},
		{"rgb with tRNS", withTRNS, true},
		{"not a png", []byte("GIF89a........................................"), true},
		{"cut short", rgb[:20], true},
	}
	for _, tc := range cases {
		if got := PNGHasAlpha(tc.data); got != tc.want {
			t.Errorf("%s: PNGHasAlpha = %v, want %v", tc.name, got, tc.want)
		}
	}
}
