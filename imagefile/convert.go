package imagefile

import (
	"image"
	"image/color"
)

// scannable returns img in a form imaging resamples without a per-pixel
// At() call. imaging has fast paths for NRGBA, NRGBA64, RGBA, RGBA64, Gray,
// Gray16, YCbCr and Paletted; CMYK (Adobe JPEGs) and NYCbCrA (lossy WebP
// with alpha) are converted here in one pass over their planes. Any other
// type is returned as is and imaging falls back to At().
func scannable(img image.Image) image.Image {
	switch m := img.(type) {
	case *image.CMYK:
		return cmykToNRGBA(m)
	case *image.NYCbCrA:
		return nycbcraToNRGBA(m)
	}
	return img
}

// cmykToNRGBA converts a CMYK image to opaque NRGBA.
func cmykToNRGBA(m *image.CMYK) *image.NRGBA {
	b := m.Rect
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
		row := dst.Pix[y*dst.Stride : y*dst.Stride+4*b.Dx()]
		for x := 0; x < b.Dx(); x++ {
			s := src[4*x : 4*x+4 : 4*x+4]
			d := row[4*x : 4*x+4 : 4*x+4]
			d[0], d[1], d[2] = color.CMYKToRGB(s[0], s[1], s[2], s[3])
			d[3] = 0xff
		}
	}
	return dst
}

// nycbcraToNRGBA converts a non-premultiplied YCbCr+alpha image to NRGBA.
func nycbcraToNRGBA(m *image.NYCbCrA) *image.NRGBA {
	b := m.Rect
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		row := dst.Pix[y*dst.Stride : y*dst.Stride+4*b.Dx()]
		for x := 0; x < b.Dx(); x++ {
			px, py := b.Min.X+x, b.Min.Y+y
			yi, ci := m.YOffset(px, py), m.COffset(px, py)
			d := row[4*x : 4*x+4 : 4*x+4]
			d[0], d[1], d[2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			d[3] = m.A[m.AOffset(px, py)]
		}
	}
	return dst
}
