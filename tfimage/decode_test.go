package tfimage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"slices"
	"testing"

	"github.com/tfcam/tfcam/imagefile"
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// scene is a smooth, asymmetric test picture: gradients plus a bright
// square near the top-left, so that any flip or rotation shows.
func scene(w, h int, alpha bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{R: uint8(255 * x / w), G: uint8(255 * y / h), B: uint8(128 + 100*math.Sin(float64(x+y)/float64(w)*6)), A: 255}
			if x > w/8 && x < w/3 && y > h/8 && y < h/3 {
				c = color.NRGBA{R: 250, G: 250, B: 40, A: 255}
			}
			if alpha && x > w/2 {
				c.A = uint8(255 * (w - x) / (w / 2))
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encodeAs(t testing.TB, format string, img image.Image) []byte {
	var b bytes.Buffer
	var err error
	switch format {
	case "jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
	case "png":
		err = png.Encode(&b, img)
	case "gif":
		err = gif.Encode(&b, img, nil)
	case "png16": // 16 bits per channel
		src := img.(*image.NRGBA)
		deep := image.NewNRGBA64(src.Rect)
		for y := src.Rect.Min.Y; y < src.Rect.Max.Y; y++ {
			for x := src.Rect.Min.X; x < src.Rect.Max.X; x++ {
				c := src.NRGBAAt(x, y)
				deep.SetNRGBA64(x, y, color.NRGBA64{R: uint16(c.R) * 257, G: uint16(c.G) * 257, B: uint16(c.B) * 257, A: uint16(c.A) * 257})
			}
		}
		err = png.Encode(&b, deep)
	case "png-gray", "jpeg-gray":
		src := img.(*image.NRGBA)
		g := image.NewGray(src.Rect)
		for y := src.Rect.Min.Y; y < src.Rect.Max.Y; y++ {
			for x := src.Rect.Min.X; x < src.Rect.Max.X; x++ {
				g.Set(x, y, src.At(x, y))
			}
		}
		if format == "png-gray" {
			err = png.Encode(&b, g)
		} else {
			err = jpeg.Encode(&b, g, &jpeg.Options{Quality: 95})
		}
	case "png-paletted":
		src := img.(*image.NRGBA)
		pal := image.NewPaletted(src.Rect, palette.WebSafe)
		draw.Draw(pal, src.Rect, src, src.Rect.Min, draw.Src)
		err = png.Encode(&b, pal)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation inserts an EXIF APP1 segment with orientation o.
func withOrientation(jpg []byte, o uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("MM")
	binary.Write(&tiff, binary.BigEndian, uint16(42))
	binary.Write(&tiff, binary.BigEndian, uint32(8))
	binary.Write(&tiff, binary.BigEndian, uint16(1))
	for _, v := range []any{uint16(0x0112), uint16(3), uint32(1), o, uint16(0), uint32(0)} {
		binary.Write(&tiff, binary.BigEndian, v)
	}
	body := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(body)+2))
	out := append(append(append([]byte{}, jpg[:2]...), seg...), body...)
	return append(out, jpg[2:]...)
}

// goPath is what tfcam did before tfimage: Go's decoders and ToTensor.
func goPath(t *testing.T, data []byte, w, h, c int, pre imagefile.Preprocess) []float32 {
	img, err := imagefile.DecodeBytes(data, "test")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, w*h*c)
	if err := imagefile.ToTensor(img, w, h, c, pre, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// diff returns the mean and max absolute difference, in units of the
// preset's 0..255 scale (divided by scale).
func diff(a, b []float32, scale float32) (mean, most float64) {
	for i := range a {
		d := math.Abs(float64(a[i]-b[i]) / float64(scale))
		mean += d
		most = math.Max(most, d)
	}
	return mean / float64(len(a)), most
}

// TestDecodeMatchesGo checks TensorFlow's decode → orient → resize →
// preprocess against imagefile's Go path on the same files. They are two
// implementations of the same resampling (a triangle filter widened when
// shrinking) and, for JPEG, two IDCTs and chroma upsamplers (libjpeg-turbo's
// "fancy" upsampling vs Go's), so they agree to a few levels, not bits:
// mean ≤ 0.5 level and max ≤ 2 for lossless files; for JPEG mean ≤ 1.5
// and max ≤ 24 levels at the sharp square's edges (measured: 0.3/1.0 and
// 0.8/16). A flipped or rotated image, a wrong channel
// order or a missing alpha composite differs by tens of levels on average.
type decodeCase struct {
	name       string
	format     string
	w, h       int
	orient     uint16
	alpha      bool
	c          int
	pre        imagefile.Preprocess
	tfDecoded  bool
	mean, most float64
}

func TestDecodeMatchesGo(t *testing.T) {
	const W, H = 64, 48
	cases := []decodeCase{
		{"png", "png", 200, 150, 0, false, 3, imagefile.Unit, true, 0.5, 2},
		{"png alpha over white", "png", 200, 150, 0, true, 3, imagefile.Unit, true, 0.5, 2},
		{"png caffe BGR", "png", 200, 150, 0, false, 3, imagefile.Caffe, true, 0.5, 2},
		{"png gray model", "png", 200, 150, 0, false, 1, imagefile.TF, true, 0.5, 2},
		{"png upscaled", "png", 40, 30, 0, false, 3, imagefile.Unit, true, 0.5, 2},
		{"gif by Go", "gif", 200, 150, 0, false, 3, imagefile.Unit, false, 0.5, 2},
		{"png 16-bit", "png16", 200, 150, 0, true, 3, imagefile.Unit, true, 0.5, 2},
		{"png gray", "png-gray", 200, 150, 0, false, 3, imagefile.Unit, true, 0.5, 2},
		{"png paletted", "png-paletted", 200, 150, 0, false, 3, imagefile.Unit, true, 0.5, 2},
		{"jpeg gray", "jpeg-gray", 200, 150, 0, false, 3, imagefile.Unit, true, 1.5, 24},
		{"jpeg", "jpeg", 200, 150, 0, false, 3, imagefile.Unit, true, 1.5, 24},
		{"jpeg DCT-scaled", "jpeg", 1024, 768, 0, false, 3, imagefile.Unit, true, 1.5, 24},
	}
	for o := uint16(2); o <= 8; o++ {
		cases = append(cases, decodeCase{"jpeg orientation " + string(rune('0'+o)), "jpeg", 320, 200, o, false, 3, imagefile.Unit, true, 1.5, 24})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := encodeAs(t, tc.format, scene(tc.w, tc.h, tc.alpha))
			if tc.orient > 0 {
				data = withOrientation(data, tc.orient)
			}
			d, err := NewDecoder(DecodeOptions{Width: W, Height: H, Channels: tc.c, Preprocess: tc.pre, ViewSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			got, err := d.Decode(context.Background(), data, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			if got.TensorFlow != tc.tfDecoded {
				t.Errorf("decoded by TensorFlow: %v, want %v", got.TensorFlow, tc.tfDecoded)
			}
			want := goPath(t, data, W, H, tc.c, tc.pre)
			scale, _, _, _ := tc.pre.Affine(tc.c)
			mean, most := diff(got.Pixels, want, scale[0])
			t.Logf("mean %.3f max %.1f levels (%dx%d → view %dx%d)", mean, most, got.Width, got.Height, got.ViewWidth, got.ViewHeight)
			if mean > tc.mean || most > tc.most {
				t.Errorf("differs from Go's decode+ToTensor: mean %.3f (limit %g), max %.1f (limit %g) levels", mean, tc.mean, most, tc.most)
			}
			// The view: upright, at most 100 px on its longest side.
			ow, oh := tc.w, tc.h
			if tc.orient >= 5 {
				ow, oh = oh, ow
			}
			if got.Width != ow || got.Height != oh {
				t.Errorf("size %dx%d, want %dx%d upright", got.Width, got.Height, ow, oh)
			}
			if sh := got.View.Shape(); sh[0] != int64(got.ViewHeight) || sh[1] != int64(got.ViewWidth) || max(sh[0], sh[1]) > 100 || sh[2] != 3 {
				t.Errorf("view shape %v for %dx%d", sh, got.ViewWidth, got.ViewHeight)
			}
			// Its pixels: the same picture as Go's path at the view's size
			// (over white). Different filters (box, bilinear or none vs
			// the triangle) blur the square's edges differently, so only
			// the mean is bounded; a flipped view or a wrong channel order
			// is tens of levels off.
			var view []float32
			for i, px := range viewImage(t, got).Pix {
				if i%4 != 3 { // RGB of RGBA
					view = append(view, float32(px)/255)
				}
			}
			wantView := goPath(t, data, got.ViewWidth, got.ViewHeight, 3, imagefile.Unit)
			if mean, most := diff(view, wantView, 1.0/255); mean > 4 {
				t.Errorf("view differs from Go's decode resized to %dx%d: mean %.2f max %.0f levels (limit: mean 4)", got.ViewWidth, got.ViewHeight, mean, most)
			} else {
				t.Logf("view %dx%d: mean %.2f max %.0f levels", got.ViewWidth, got.ViewHeight, mean, most)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	d, err := NewDecoder(DecodeOptions{Width: 8, Height: 8, Channels: 3, Preprocess: imagefile.Unit})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	good := encodeAs(t, "jpeg", scene(64, 64, false))
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, imagefile.ErrEmpty},
		{"truncated jpeg", good[:len(good)/2], imagefile.ErrTruncated},
		{"not an image", []byte("hello, this is text\n"), imagefile.ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Decode(context.Background(), tc.data, tc.name)
			if !errorsIs(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func errorsIs(err, target error) bool { return err != nil && errors.Is(err, target) }

// TestDecodeSingleColour: an image that decodes to one colour throughout
// carries a Warning (a blank file, or one cut short: libjpeg fills a
// progressive JPEG's missing scans with grey and says nothing but a log
// line); any real picture carries none.
func TestDecodeSingleColour(t *testing.T) {
	d, err := NewDecoder(DecodeOptions{Width: 16, Height: 16, Channels: 3, Preprocess: imagefile.Unit})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	solid := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	draw.Draw(solid, solid.Bounds(), image.NewUniform(color.NRGBA{90, 140, 200, 255}), image.Point{}, draw.Src)
	nearly := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	draw.Draw(nearly, nearly.Bounds(), image.NewUniform(color.NRGBA{90, 140, 200, 255}), image.Point{}, draw.Src)
	nearly.Set(20, 15, color.NRGBA{255, 255, 255, 255})
	prog := progressiveJPEG(t, scene(64, 64, false))
	sos := bytes.Index(prog, []byte{0xff, 0xda})
	if sos < 0 {
		t.Fatal("no scan in the progressive JPEG")
	}
	for _, tc := range []struct {
		name string
		data []byte
		warn bool
	}{
		{"solid PNG", encodeAs(t, "png", solid), true},
		{"solid JPEG", encodeAs(t, "jpeg", solid), true},
		{"one white pixel", encodeAs(t, "png", nearly), false},
		{"a picture", encodeAs(t, "jpeg", scene(64, 64, false)), false},
		{"progressive JPEG", prog, false},
		{"progressive JPEG cut in its first scan", prog[:sos+20], true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dec, err := d.Decode(context.Background(), tc.data, tc.name)
			if err != nil {
				if tc.warn {
					t.Logf("refused: %v", err)
					return // refused outright: not silent either
				}
				t.Fatal(err)
			}
			defer dec.Release()
			if (dec.Warning != "") != tc.warn {
				t.Errorf("warning %q, want one: %v", dec.Warning, tc.warn)
			}
		})
	}
}

// progressiveJPEG encodes img as a progressive JPEG with TensorFlow's
// encoder (Go's writes baseline only).
func progressiveJPEG(t *testing.T, img *image.NRGBA) []byte {
	t.Helper()
	s := op.NewScope()
	b := img.Bounds()
	pix := make([]uint8, 0, b.Dx()*b.Dy()*3)
	for i := 0; i < len(img.Pix); i += 4 {
		pix = append(pix, img.Pix[i:i+3]...)
	}
	in := op.Const(s.SubScope("pixels"), pix)
	shaped := op.Reshape(s, in, op.Const(s.SubScope("shape"), []int32{int32(b.Dy()), int32(b.Dx()), 3}))
	enc := op.EncodeJpeg(s, shaped, op.EncodeJpegProgressive(true), op.EncodeJpegQuality(90))
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.Run(nil, []tf.Output{enc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(out[0].Value().(string))
}

// TestModelInputIgnoresView: the model input of a JPEG is the same, bit
// for bit, whatever view is asked for (none, smaller than the model's
// decode, the full size): it depends on the image and the model only.
// For 2400×1800 and a 64×48 model the model's decode is at 1/8 (300×225,
// at least 4× the input), a 100-px view at 1/8 too, a 1000-px view at 1/2
// (a second decode), a full-size view in full.
func TestModelInputIgnoresView(t *testing.T) {
	data := encodeAs(t, "jpeg", scene(2400, 1800, false))
	var want []float32
	for _, view := range []int{0, 100, 1000, 4096} {
		d, err := NewDecoder(DecodeOptions{Width: 64, Height: 48, Channels: 3, Preprocess: imagefile.Raw, ViewSize: view})
		if err != nil {
			t.Fatal(err)
		}
		dec, err := d.Decode(context.Background(), data, "scene")
		if err != nil {
			t.Fatal(err)
		}
		if view > 0 && (dec.View == nil || max(dec.ViewWidth, dec.ViewHeight) != min(view, 2400)) {
			t.Errorf("view %d: got %dx%d", view, dec.ViewWidth, dec.ViewHeight)
		}
		if want == nil {
			want = dec.Pixels
		} else if !slices.Equal(dec.Pixels, want) {
			t.Errorf("view %d: the model input differs from the one decoded without a view", view)
		}
		dec.Release()
		d.Close()
	}
}
