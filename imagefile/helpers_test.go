package imagefile

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// Colours used by the generated fixtures.
var (
	red   = color.NRGBA{255, 0, 0, 255}
	green = color.NRGBA{0, 255, 0, 255}
	blue  = color.NRGBA{0, 0, 255, 255}
)

// markedImage is a w×h blue image whose top-left (w/3)×(h/3) block is red:
// the red corner shows where the stored top-left pixel ends up.
func markedImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := blue
			if x < w/3 && y < h/3 {
				c = red
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// writeFile writes data to name inside a fresh temporary directory.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// encode encodes img in format ("png", "jpeg", "gif", "bmp", "tiff" or
// "webp"); webp only takes images whose channels are each 0 or 255.
func encode(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	case "gif":
		err = gif.Encode(&buf, img, nil)
	case "bmp":
		err = bmp.Encode(&buf, img)
	case "tiff":
		err = tiff.Encode(&buf, img, &tiff.Options{Compression: tiff.Deflate})
	case "webp":
		return encodeWebP(t, img)
	default:
		t.Fatalf("encode: unknown format %q", format)
	}
	if err != nil {
		t.Fatalf("encode %s: %v", format, err)
	}
	return buf.Bytes()
}

// bitWriter writes the LSB-first bit stream of VP8L.
type bitWriter struct {
	buf []byte
	acc uint64
	n   uint
}

func (w *bitWriter) write(v uint32, bits uint) {
	w.acc |= uint64(v) << w.n
	w.n += bits
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.n > 0 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc, w.n = 0, 0
	}
	return w.buf
}

// encodeWebP writes img as a lossless WebP (VP8L) file. There is no Go WebP
// encoder, so this is a minimal one: no transforms, no colour cache and, per
// channel, a "simple" prefix code of one symbol (a constant channel, zero
// bits per pixel) or of the two symbols 0 and 255 (one bit per pixel). That
// covers the 8 saturated colours with alpha 0 or 255, enough for fixtures.
func encodeWebP(t testing.TB, img image.Image) []byte {
	t.Helper()
	b := img.Bounds()
	if b.Dx() > 1<<14 || b.Dy() > 1<<14 {
		t.Fatalf("encodeWebP: %v too large", b)
	}
	var px [][4]uint8 // green, red, blue, alpha: the VP8L symbol order
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			px = append(px, [4]uint8{c.G, c.R, c.B, c.A})
		}
	}
	var constant [4]bool
	var value [4]uint8
	alpha := false
	for k := 0; k < 4; k++ {
		constant[k], value[k] = true, px[0][k]
		for _, p := range px {
			if p[k] != 0 && p[k] != 255 {
				t.Fatalf("encodeWebP: channel value %d not 0 or 255", p[k])
			}
			if p[k] != value[k] {
				constant[k] = false
			}
			if k == 3 && p[k] != 255 {
				alpha = true
			}
		}
	}
	var w bitWriter
	w.write(0x2f, 8)
	w.write(uint32(b.Dx()-1), 14)
	w.write(uint32(b.Dy()-1), 14)
	if alpha {
		w.write(1, 1)
	} else {
		w.write(0, 1)
	}
	w.write(0, 3) // version
	w.write(0, 1) // no transform
	w.write(0, 1) // no colour cache
	w.write(0, 1) // no meta prefix codes
	one := func(v uint8) {
		w.write(1, 1) // simple code
		w.write(0, 1) // one symbol
		if v <= 1 {
			w.write(0, 1)
			w.write(uint32(v), 1)
		} else {
			w.write(1, 1)
			w.write(uint32(v), 8)
		}
	}
	for k := 0; k < 4; k++ {
		if constant[k] {
			one(value[k])
			continue
		}
		w.write(1, 1)   // simple code
		w.write(1, 1)   // two symbols
		w.write(0, 1)   // first symbol in 1 bit
		w.write(0, 1)   // symbol 0 → code 0
		w.write(255, 8) // symbol 255 → code 1
	}
	one(0) // distance code, never used
	for _, p := range px {
		for k := 0; k < 4; k++ {
			if !constant[k] {
				w.write(uint32(p[k]>>7), 1)
			}
		}
	}
	payload := w.bytes()
	var out bytes.Buffer
	padded := len(payload) + len(payload)%2
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+8+padded))
	out.WriteString("WEBPVP8L")
	binary.Write(&out, binary.LittleEndian, uint32(len(payload)))
	out.Write(payload)
	if len(payload)%2 == 1 {
		out.WriteByte(0)
	}
	return out.Bytes()
}

// withEXIF inserts an APP1 EXIF segment holding orientation o right after
// the SOI marker of the JPEG data, in byte order bo. With xmpFirst an XMP
// APP1 segment comes before it, as Adobe tools write.
func withEXIF(jpg []byte, o uint16, bo binary.ByteOrder, xmpFirst bool) []byte {
	var tiffData bytes.Buffer
	if bo == binary.LittleEndian {
		tiffData.WriteString("II")
	} else {
		tiffData.WriteString("MM")
	}
	binary.Write(&tiffData, bo, uint16(42))
	binary.Write(&tiffData, bo, uint32(8)) // IFD0 right after the header
	binary.Write(&tiffData, bo, uint16(2)) // two entries: a decoy, then orientation
	for _, e := range []struct{ tag, value uint16 }{{0x010f, 0}, {0x0112, o}} {
		binary.Write(&tiffData, bo, e.tag)
		binary.Write(&tiffData, bo, uint16(3)) // SHORT
		binary.Write(&tiffData, bo, uint32(1)) // count
		binary.Write(&tiffData, bo, e.value)
		binary.Write(&tiffData, bo, uint16(0)) // padding of the 4-byte value field
	}
	binary.Write(&tiffData, bo, uint32(0)) // no next IFD
	segment := func(body []byte) []byte {
		s := []byte{0xff, 0xe1, 0, 0}
		binary.BigEndian.PutUint16(s[2:], uint16(len(body)+2))
		return append(s, body...)
	}
	out := append([]byte{}, jpg[:2]...)
	if xmpFirst {
		out = append(out, segment([]byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"))...)
	}
	out = append(out, segment(append([]byte("Exif\x00\x00"), tiffData.Bytes()...))...)
	return append(out, jpg[2:]...)
}

// near reports whether a and b differ by at most tol in every channel.
func near(a, b color.NRGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && d(a.A, b.A)
}

// at returns the colour of img at (x, y) relative to its bounds.
func at(img image.Image, x, y int) color.NRGBA {
	b := img.Bounds()
	return color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
}
