package imagefile

import (
	"errors"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"
	"testing"
)

// fill sets every pixel of m to c.
func fill[M interface {
	image.Image
	Set(x, y int, c color.Color)
}](m M, c color.Color) M {
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			m.Set(x, y, c)
		}
	}
	return m
}

// TestToTensorColourModels feeds each in-memory colour model through the
// resampling path (6×4 → 3×2) and checks raw RGB and luma values.
func TestToTensorColourModels(t *testing.T) {
	r := image.Rect(0, 0, 6, 4)
	ycbcr := func(sub image.YCbCrSubsampleRatio, rgb color.NRGBA, alpha uint8) image.Image {
		y, cb, cr := color.RGBToYCbCr(rgb.R, rgb.G, rgb.B)
		if alpha == 255 {
			m := image.NewYCbCr(r, sub)
			fillYCbCr(m, y, cb, cr)
			return m
		}
		m := image.NewNYCbCrA(r, sub)
		fillYCbCr(&m.YCbCr, y, cb, cr)
		for i := range m.A {
			m.A[i] = alpha
		}
		return m
	}
	pal := color.Palette{color.NRGBA{10, 20, 30, 255}, color.NRGBA{0, 0, 0, 0}}
	tests := []struct {
		name string
		img  image.Image
		rgb  [3]float32
		tol  float32
	}{
		{"gray", fill(image.NewGray(r), color.Gray{77}), [3]float32{77, 77, 77}, 0},
		{"gray16", fill(image.NewGray16(r), color.Gray16{0x4dff}), [3]float32{77, 77, 77}, 0},
		{"rgba opaque", fill(image.NewRGBA(r), color.RGBA{10, 20, 30, 255}), [3]float32{10, 20, 30}, 0},
		{"rgba premultiplied half alpha", fill(image.NewRGBA(r), color.RGBA{64, 0, 0, 128}), [3]float32{191, 127, 127}, 1},
		{"nrgba transparent", fill(image.NewNRGBA(r), color.NRGBA{0, 0, 0, 0}), [3]float32{255, 255, 255}, 0},
		{"nrgba half alpha", fill(image.NewNRGBA(r), color.NRGBA{255, 0, 0, 128}), [3]float32{255, 127, 127}, 0.5},
		{"rgba64", fill(image.NewRGBA64(r), color.RGBA64{0x0aff, 0x14ff, 0x1eff, 0xffff}), [3]float32{10, 20, 30}, 0},
		{"nrgba64", fill(image.NewNRGBA64(r), color.NRGBA64{0x0aff, 0x14ff, 0x1eff, 0xffff}), [3]float32{10, 20, 30}, 0},
		{"cmyk red", fill(image.NewCMYK(r), color.CMYK{0, 255, 255, 0}), [3]float32{255, 0, 0}, 0},
		{"cmyk grey", fill(image.NewCMYK(r), color.CMYK{0, 0, 0, 128}), [3]float32{127, 127, 127}, 0},
		{"ycbcr 420", ycbcr(image.YCbCrSubsampleRatio420, color.NRGBA{200, 100, 50, 255}, 255), [3]float32{200, 100, 50}, 2},
		{"ycbcr 444", ycbcr(image.YCbCrSubsampleRatio444, color.NRGBA{200, 100, 50, 255}, 255), [3]float32{200, 100, 50}, 2},
		{"nycbcra opaque", ycbcr(image.YCbCrSubsampleRatio420, color.NRGBA{200, 100, 50, 255}, 255), [3]float32{200, 100, 50}, 2},
		{"nycbcra transparent", ycbcr(image.YCbCrSubsampleRatio420, color.NRGBA{200, 100, 50, 255}, 0), [3]float32{255, 255, 255}, 0},
		{"paletted", fill(image.NewPaletted(r, pal), pal[0]), [3]float32{10, 20, 30}, 0},
		{"paletted transparent", fill(image.NewPaletted(r, pal), pal[1]), [3]float32{255, 255, 255}, 0},
		{"alpha (generic At path)", fill(image.NewAlpha(r), color.Alpha{255}), [3]float32{255, 255, 255}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rgb := make([]float32, 3*2*3)
			if err := ToTensor(tt.img, 3, 2, 3, Raw, rgb); err != nil {
				t.Fatalf("ToTensor(c=3): %v", err)
			}
			for i, v := range rgb {
				if want := tt.rgb[i%3]; math.Abs(float64(v-want)) > float64(tt.tol) {
					t.Fatalf("rgb[%d] = %v, want %v ±%v (pixel %v)", i, v, want, tt.tol, rgb[:3])
				}
			}
			gray := make([]float32, 3*2)
			if err := ToTensor(tt.img, 3, 2, 1, Raw, gray); err != nil {
				t.Fatalf("ToTensor(c=1): %v", err)
			}
			wantY := 0.299*rgb[0] + 0.587*rgb[1] + 0.114*rgb[2]
			for i, v := range gray {
				if math.Abs(float64(v-wantY)) > 0.05 {
					t.Fatalf("gray[%d] = %v, want luma %v of %v", i, v, wantY, rgb[:3])
				}
			}
		})
	}
}

func fillYCbCr(m *image.YCbCr, y, cb, cr uint8) {
	for i := range m.Y {
		m.Y[i] = y
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = cb, cr
	}
}

// TestToTensorLayout checks the channels-last, row-major order on images
// that need no resampling.
func TestToTensorLayout(t *testing.T) {
	// 3×2: row 0 red, green, blue; row 1 black, white, grey.
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	px := []color.NRGBA{red, green, blue, {0, 0, 0, 255}, {255, 255, 255, 255}, {128, 128, 128, 255}}
	for i, c := range px {
		img.SetNRGBA(i%3, i/3, c)
	}
	tests := []struct {
		name string
		c    int
		p    Preprocess
		want []float32
	}{
		{"rgb", 3, Raw, []float32{255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 128, 128, 128}},
		{"bgr", 3, Caffe, []float32{
			-103.939, -116.779, 255 - 123.68, -103.939, 255 - 116.779, -123.68, 255 - 103.939, -116.779, -123.68,
			-103.939, -116.779, -123.68, 255 - 103.939, 255 - 116.779, 255 - 123.68, 128 - 103.939, 128 - 116.779, 128 - 123.68}},
		{"gray", 1, Raw, []float32{255 * 0.299, 255 * 0.587, 255 * 0.114, 0, 255, 128}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, sub := range []struct {
				name string
				img  image.Image
			}{
				{"NRGBA", img},
				{"sub-image with offset", offsetCopy(img)},
				{"RGBA", toRGBA(img)},
			} {
				dst := make([]float32, len(tt.want))
				if err := ToTensor(sub.img, 3, 2, tt.c, tt.p, dst); err != nil {
					t.Fatalf("%s: ToTensor: %v", sub.name, err)
				}
				for i := range dst {
					if math.Abs(float64(dst[i]-tt.want[i])) > 0.01 {
						t.Fatalf("%s: dst = %v\nwant %v", sub.name, dst, tt.want)
					}
				}
			}
		})
	}
}

// offsetCopy returns img drawn at (5,7) inside a larger NRGBA and cut out
// again, so its bounds do not start at the origin.
func offsetCopy(img *image.NRGBA) image.Image {
	b := img.Bounds()
	big := fill(image.NewNRGBA(image.Rect(0, 0, b.Dx()+10, b.Dy()+10)), color.NRGBA{9, 9, 9, 255})
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			big.SetNRGBA(x+5, y+7, img.NRGBAAt(x, y))
		}
	}
	return big.SubImage(image.Rect(5, 7, 5+b.Dx(), 7+b.Dy()))
}

// toRGBA converts img to premultiplied RGBA, which takes imaging's resize path.
func toRGBA(img *image.NRGBA) *image.RGBA {
	dst := image.NewRGBA(img.Bounds())
	draw.Draw(dst, dst.Bounds(), img, img.Bounds().Min, draw.Src)
	return dst
}

// TestToTensorResize checks resampling keeps the picture where it was:
// the left half stays red and the right half blue, whether shrinking or
// growing, and the offset sub-image gives the same result.
func TestToTensorResize(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			c := red
			if x >= 32 {
				c = blue
			}
			src.SetNRGBA(x, y, c)
		}
	}
	tests := []struct {
		name string
		w, h int
	}{
		{"shrink", 8, 4},
		{"grow", 128, 16},
		{"squash to square", 10, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]float32, tt.w*tt.h*3)
			if err := ToTensor(src, tt.w, tt.h, 3, Raw, dst); err != nil {
				t.Fatalf("ToTensor: %v", err)
			}
			for y := 0; y < tt.h; y++ {
				left := dst[(y*tt.w)*3:]
				right := dst[(y*tt.w+tt.w-1)*3:]
				if left[0] != 255 || left[2] != 0 || right[0] != 0 || right[2] != 255 {
					t.Fatalf("row %d: left %v right %v, want red then blue", y, left[:3], right[:3])
				}
			}
		})
	}
}

func TestToTensorErrors(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	tests := []struct {
		name    string
		img     image.Image
		w, h, c int
		p       Preprocess
		dstLen  int
		wantMsg string
	}{
		{"nil image", nil, 2, 2, 3, Raw, 12, "nil"},
		{"zero width", img, 0, 2, 3, Raw, 0, "must be positive"},
		{"negative height", img, 2, -1, 3, Raw, 0, "must be positive"},
		{"four channels", img, 2, 2, 4, Raw, 16, "use 3"},
		{"short dst", img, 2, 2, 3, Raw, 11, "dst has len 11, want h*w*c = 2*2*3 = 12"},
		{"long dst", img, 2, 2, 1, Raw, 12, "want h*w*c = 2*2*1 = 4"},
		{"unknown preset", img, 2, 2, 3, Preprocess("inception"), 12, `unknown preprocess preset "inception"`},
		{"empty image", image.NewNRGBA(image.Rect(3, 3, 3, 9)), 2, 2, 3, Raw, 12, "no pixels"},
		{"unbounded image", image.NewUniform(red), 2, 2, 3, Raw, 12, "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ToTensor(tt.img, tt.w, tt.h, tt.c, tt.p, make([]float32, tt.dstLen))
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("ToTensor = %v, want an error containing %q", err, tt.wantMsg)
			}
		})
	}
	err := ToTensor(image.NewUniform(red), 2, 2, 3, Raw, make([]float32, 12))
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("ToTensor(image.Uniform) = %v, want ErrTooLarge", err)
	}
}

// TestToTensorDoesNotModifyInput guards the same-size fast path, which
// reads the caller's NRGBA directly.
func TestToTensorDoesNotModifyInput(t *testing.T) {
	img := markedImage(8, 8)
	before := append([]uint8{}, img.Pix...)
	if err := ToTensor(img, 8, 8, 3, Torch, make([]float32, 8*8*3)); err != nil {
		t.Fatal(err)
	}
	if string(before) != string(img.Pix) {
		t.Error("ToTensor changed the input image")
	}
}

// BenchmarkToTensor measures the hot path: a decoded VGA photo (JPEG's
// YCbCr 4:2:0, and NRGBA as from PNG) to a 224×224 RGB tensor.
func BenchmarkToTensor(b *testing.B) {
	nrgba := markedImage(640, 480)
	ycc := image.NewYCbCr(nrgba.Bounds(), image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(i)
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(i*3), uint8(i*7)
	}
	dst := make([]float32, 224*224*3)
	for _, bc := range []struct {
		name string
		img  image.Image
		p    Preprocess
	}{
		{"ycbcr-640x480-torch", ycc, Torch},
		{"nrgba-640x480-caffe", nrgba, Caffe},
		{"nrgba-224x224-tf", markedImage(224, 224), TF},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := ToTensor(bc.img, 224, 224, 3, bc.p, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
