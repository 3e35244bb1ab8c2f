package imagefile

import (
	"fmt"
	"image"

	"github.com/disintegration/imaging"
)

// ToTensor resizes img to w×h and writes it channels-last (HWC, row-major:
// dst[(y*w+x)*c+k]) into dst, which must have len h*w*c, applying preset p.
//
// c is 3 for colour models (RGB order, or BGR for Caffe) or 1 for grayscale
// models, which get the BT.601 luma 0.299R + 0.587G + 0.114B (the weights
// of Go's color.GrayModel and PIL's "L" mode, not rounded) before the
// preset; Caffe and Torch need c = 3.
//
// Resizing stretches to exactly w×h (no crop, aspect ratio not kept), like
// Keras' load_img(target_size=...). It uses imaging.Resize with
// imaging.Linear: a triangle (bilinear) filter that widens when shrinking,
// so it antialiases like PIL's resize(BILINEAR), and unlike
// tf.image.resize(method="bilinear", antialias=False); expect small
// differences from a TF-only pipeline. An image that already has size w×h
// is not resampled.
//
// Any colour model is accepted: gray, gray16, RGB(A) 8 and 16 bit,
// premultiplied or not, CMYK, YCbCr, NYCbCrA and paletted. 16-bit samples
// are reduced to 8 bits. Resampling weights colour by alpha; the result is
// then composited over white, so transparent areas read as a white page
// rather than as black (a black logo on a transparent background stays
// visible).
//
// Images over MaxPixels are refused with ErrTooLarge. ToTensor keeps
// neither img nor dst; it is safe to call concurrently with distinct dst
// slices.
func ToTensor(img image.Image, w, h, c int, p Preprocess, dst []float32) error {
	if img == nil {
		return fmt.Errorf("imagefile: ToTensor: image is nil; decode it first")
	}
	if w <= 0 || h <= 0 {
		return fmt.Errorf("imagefile: ToTensor: target size %d×%d must be positive; pass the model's input width and height", w, h)
	}
	if c != 1 && c != 3 {
		return fmt.Errorf("imagefile: ToTensor: %d channels not supported; use 3 (RGB/BGR) or 1 (grayscale)", c)
	}
	if len(dst) != h*w*c {
		return fmt.Errorf("imagefile: ToTensor: dst has len %d, want h*w*c = %d*%d*%d = %d", len(dst), h, w, c, h*w*c)
	}
	a, err := p.affine(c)
	if err != nil {
		return err
	}
	if b := img.Bounds(); b.Empty() {
		return fmt.Errorf("imagefile: ToTensor: image has no pixels (%d×%d)", b.Dx(), b.Dy())
	} else if tooLarge(b.Dx(), b.Dy()) {
		return fmt.Errorf("imagefile: ToTensor: %w: %d×%d pixels, over the limit of %d; downscale it first (or is it an unbounded image such as image.Uniform?)",
			ErrTooLarge, b.Dx(), b.Dy(), MaxPixels)
	}
	src := resize(img, w, h)
	pix, stride := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y):], src.Stride
	if c == 3 {
		writeRGB(pix, stride, w, h, a, dst)
	} else {
		writeGray(pix, stride, w, h, a, dst)
	}
	return nil
}

// resize returns img as w×h NRGBA, reusing img itself when it already is.
func resize(img image.Image, w, h int) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok && n.Rect.Dx() == w && n.Rect.Dy() == h {
		return n
	}
	return imaging.Resize(scannable(img), w, h, imaging.Linear)
}

// overWhite composites a non-premultiplied 8-bit value with alpha a over
// white: v*a + 255*(1-a), with a in [0,1].
func overWhite(v float32, a uint8) float32 {
	return 255 - (255-v)*float32(a)*(1.0/255)
}

// writeRGB writes w×h NRGBA pixels as c = 3 values each. Opaque pixels,
// the common case, go through per-channel tables of the preset's 256
// outputs, which is cheaper than converting and scaling each byte.
func writeRGB(pix []uint8, stride, w, h int, a affine, dst []float32) {
	var lut [3][256]float32
	for k := range lut {
		for v := range lut[k] {
			lut[k][v] = float32(v)*a.scale[k] + a.bias[k]
		}
	}
	l0, l1, l2 := &lut[0], &lut[1], &lut[2]
	// First and last output channel read R and B, or B and R for BGR.
	i0, i2 := 0, 2
	if a.bgr {
		i0, i2 = 2, 0
	}
	s0, s1, s2 := a.scale[0], a.scale[1], a.scale[2]
	b0, b1, b2 := a.bias[0], a.bias[1], a.bias[2]
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+4*w]
		out := dst[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			s := row[4*x : 4*x+4 : 4*x+4]
			d := out[3*x : 3*x+3 : 3*x+3]
			if al := s[3]; al == 0xff {
				d[0] = l0[s[i0]]
				d[1] = l1[s[1]]
				d[2] = l2[s[i2]]
			} else {
				d[0] = overWhite(float32(s[i0]), al)*s0 + b0
				d[1] = overWhite(float32(s[1]), al)*s1 + b1
				d[2] = overWhite(float32(s[i2]), al)*s2 + b2
			}
		}
	}
}

// writeGray writes w×h NRGBA pixels as one luma value each.
func writeGray(pix []uint8, stride, w, h int, a affine, dst []float32) {
	s0, b0 := a.scale[0], a.bias[0]
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+4*w]
		out := dst[y*w : (y+1)*w]
		for x := range out {
			s := row[4*x : 4*x+4 : 4*x+4]
			// Integer weights sum to 65536, so grey stays exactly grey and the
			// sum (< 2^24) converts to float32 without rounding.
			v := float32(19595*uint32(s[0])+38470*uint32(s[1])+7471*uint32(s[2])) * (1.0 / 65536)
			if al := s[3]; al != 0xff {
				v = overWhite(v, al)
			}
			out[x] = v*s0 + b0
		}
	}
}
