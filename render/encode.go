package render

import (
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"sync"
)

// DefaultJPEGQuality is a quality for WriteJPEG that keeps heatmap edges
// free of visible ringing at a fraction of PNG's size.
const DefaultJPEGQuality = 90

// WritePNG encodes img as PNG into path through WriteFileAtomic.
func WritePNG(path string, img image.Image) error {
	if img == nil {
		return fmt.Errorf("render: write %s: nil image", path)
	}
	enc := png.Encoder{BufferPool: pngBuffers{}}
	return WriteFileAtomic(path, func(w io.Writer) error { return enc.Encode(w, img) })
}

// WriteJPEG encodes img as JPEG with the given quality (1–100) into path
// through WriteFileAtomic. JPEG has no alpha: translucent pixels come out
// as if composed over black.
func WriteJPEG(path string, img image.Image, quality int) error {
	if img == nil {
		return fmt.Errorf("render: write %s: nil image", path)
	}
	if quality < 1 || quality > 100 {
		return fmt.Errorf("render: write %s: JPEG quality %d outside 1–100", path, quality)
	}
	opt := jpeg.Options{Quality: quality}
	img = asRGBA(img)
	return WriteFileAtomic(path, func(w io.Writer) error { return jpeg.Encode(w, img, &opt) })
}

// asRGBA views an opaque *image.NRGBA — what Overlay returns for ordinary
// photos — as the *image.RGBA it is identical to (premultiplying by 255
// changes nothing), sharing its pixels. The JPEG encoder has a fast path
// for *image.RGBA but reads an NRGBA pixel by pixel through At, several
// times slower with an allocation per pixel.
func asRGBA(img image.Image) image.Image {
	if n, ok := img.(*image.NRGBA); ok && n.Opaque() {
		return &image.RGBA{Pix: n.Pix, Stride: n.Stride, Rect: n.Rect}
	}
	return img
}

// pngPool reuses the PNG encoder's large zlib buffers, which otherwise
// dominate allocation when writing thousands of overlays.
var pngPool sync.Pool

type pngBuffers struct{}

func (pngBuffers) Get() *png.EncoderBuffer {
	b, _ := pngPool.Get().(*png.EncoderBuffer)
	return b
}

func (pngBuffers) Put(b *png.EncoderBuffer) { pngPool.Put(b) }
