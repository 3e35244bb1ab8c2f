package imagefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
)

func TestDecodeFormats(t *testing.T) {
	src := markedImage(48, 30) // red top-left 16×10 block on blue
	tests := []struct {
		format string
		tol    int // lossy formats move colours a little
	}{
		{"png", 0},
		{"jpeg", 12},
		{"gif", 0},
		{"bmp", 0},
		{"tiff", 0},
		{"webp", 0},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			path := writeFile(t, "img."+tt.format, encode(t, tt.format, src))
			img, err := Decode(path)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := img.Bounds().Size(); got != image.Pt(48, 30) {
				t.Fatalf("size = %v, want 48×30", got)
			}
			// Sample away from the red/blue edge, where JPEG rings.
			for _, p := range []struct {
				x, y int
				want color.NRGBA
			}{{3, 3, red}, {40, 25, blue}, {40, 3, blue}, {3, 25, blue}} {
				if got := at(img, p.x, p.y); !near(got, p.want, tt.tol) {
					t.Errorf("pixel (%d,%d) = %v, want %v ±%d", p.x, p.y, got, p.want, tt.tol)
				}
			}
		})
	}
}

// TestDecodeIgnoresExtension checks the format comes from the content: a
// PNG named .jpg is a common mislabel and must still decode.
func TestDecodeIgnoresExtension(t *testing.T) {
	path := writeFile(t, "mislabelled.jpg", encode(t, "png", markedImage(9, 6)))
	img, err := Decode(path)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got := at(img, 0, 0); got != red {
		t.Errorf("pixel (0,0) = %v, want red", got)
	}
}

func TestDecodeGIFFirstFrame(t *testing.T) {
	frame := func(c color.Color) *image.Paletted {
		m := image.NewPaletted(image.Rect(0, 0, 8, 8), palette.Plan9)
		for i := range m.Pix {
			m.Pix[i] = uint8(m.Palette.Index(c))
		}
		return m
	}
	var buf bytes.Buffer
	anim := &gif.GIF{Image: []*image.Paletted{frame(red), frame(blue)}, Delay: []int{10, 10}}
	if err := gif.EncodeAll(&buf, anim); err != nil {
		t.Fatal(err)
	}
	img, err := Decode(writeFile(t, "anim.gif", buf.Bytes()))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got := at(img, 4, 4); got != red {
		t.Errorf("pixel = %v, want red from the first frame", got)
	}
}

// TestDecodeColourModels checks that files in each stored colour model come
// back as the expected image type with the expected colour, and that
// ToTensor reads them (raw RGB, composited over white). fill is in
// tensor_test.go.
func TestDecodeColourModels(t *testing.T) {
	rect := image.Rect(0, 0, 8, 6)
	pal := color.Palette{color.NRGBA{0, 128, 255, 255}, color.NRGBA{0, 0, 0, 0}}
	tests := []struct {
		name     string
		format   string
		img      image.Image
		wantType string
		wantRGB  [3]float32 // after ToTensor with Raw
		tol      float32
	}{
		{"gray png", "png", fill(image.NewGray(rect), color.Gray{100}), "*image.Gray", [3]float32{100, 100, 100}, 0},
		{"gray jpeg", "jpeg", fill(image.NewGray(rect), color.Gray{100}), "*image.Gray", [3]float32{100, 100, 100}, 2},
		{"gray16 png", "png", fill(image.NewGray16(rect), color.Gray16{0x64ff}), "*image.Gray16", [3]float32{100, 100, 100}, 0},
		{"gray16 tiff", "tiff", fill(image.NewGray16(rect), color.Gray16{0x64ff}), "*image.Gray16", [3]float32{100, 100, 100}, 0},
		{"rgb48 png", "png", fill(image.NewRGBA64(rect), color.RGBA64{0xffff, 0x8000, 0, 0xffff}), "*image.RGBA64", [3]float32{255, 128, 0}, 0},
		{"nrgba alpha png", "png", fill(image.NewNRGBA(rect), color.NRGBA{0, 0, 0, 128}), "*image.NRGBA", [3]float32{127, 127, 127}, 0.5},
		{"transparent png", "png", fill(image.NewNRGBA(rect), color.NRGBA{0, 0, 0, 0}), "*image.NRGBA", [3]float32{255, 255, 255}, 0},
		{"nrgba64 alpha png", "png", fill(image.NewNRGBA64(rect), color.NRGBA64{0xffff, 0, 0, 0x8000}), "*image.NRGBA64", [3]float32{255, 127, 127}, 0.5},
		{"paletted png", "png", fill(image.NewPaletted(rect, pal), pal[0]), "*image.Paletted", [3]float32{0, 128, 255}, 0},
		{"paletted transparent png", "png", fill(image.NewPaletted(rect, pal), pal[1]), "*image.Paletted", [3]float32{255, 255, 255}, 0},
		{"paletted bmp", "bmp", fill(image.NewPaletted(rect, pal[:1]), pal[0]), "*image.Paletted", [3]float32{0, 128, 255}, 0},
		{"ycbcr jpeg", "jpeg", fill(image.NewNRGBA(rect), color.NRGBA{200, 100, 50, 255}), "*image.YCbCr", [3]float32{200, 100, 50}, 4},
		{"transparent webp", "webp", fill(image.NewNRGBA(rect), color.NRGBA{0, 0, 0, 0}), "*image.NRGBA", [3]float32{255, 255, 255}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Decode(writeFile(t, "img."+tt.format, encode(t, tt.format, tt.img)))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := typeName(img); got != tt.wantType {
				t.Errorf("decoded type = %s, want %s", got, tt.wantType)
			}
			dst := make([]float32, 4*3*3)
			if err := ToTensor(img, 4, 3, 3, Raw, dst); err != nil {
				t.Fatalf("ToTensor: %v", err)
			}
			for i, v := range dst {
				if want := tt.wantRGB[i%3]; v < want-tt.tol || v > want+tt.tol {
					t.Fatalf("dst[%d] = %v, want %v ±%v (all: %v)", i, v, want, tt.tol, dst[:3])
				}
			}
		})
	}
}

// hugePNG returns a valid 1×1 PNG whose IHDR claims w×h pixels.
func hugePNG(t *testing.T, w, h uint32) []byte {
	data := encode(t, "png", image.NewGray(image.Rect(0, 0, 1, 1)))
	ihdr := data[8+4 : 8+4+4+13] // chunk type + data, what the CRC covers
	binary.BigEndian.PutUint32(ihdr[4:], w)
	binary.BigEndian.PutUint32(ihdr[8:], h)
	binary.BigEndian.PutUint32(data[8+4+4+13:], crc32.ChecksumIEEE(ihdr))
	return data
}

func TestDecodeErrors(t *testing.T) {
	good := encode(t, "png", markedImage(16, 16))
	goodJPEG := encode(t, "jpeg", markedImage(16, 16))
	jpegSOF := func(marker byte, precision byte) []byte {
		d := append([]byte{}, goodJPEG...)
		i := bytes.Index(d, []byte{0xff, 0xc0})
		d[i+1] = marker
		if precision != 0 {
			d[i+4] = precision
		}
		return d
	}
	shadow := "root:$6$s3cr3tSalt$hashhashhash:19000:0:99999:7:::\n"
	tests := []struct {
		name    string
		data    []byte // nil: do not create the file
		wantErr error  // for errors.Is
		wantMsg string // a phrase the message must contain
	}{
		// Valid images the decoders cannot read: unsupported, never corrupt.
		{"cmyk.tif", tiffFile(map[uint16]uint32{258: 8, 259: 1, 262: 5, 277: 4}, 16), ErrUnsupportedFeature, "it is a CMYK TIFF, which the TIFF decoder cannot read"},
		{"jpeg-in.tif", tiffFile(map[uint16]uint32{258: 8, 259: 7, 262: 1, 277: 1}, 4), ErrUnsupportedFeature, "it is a JPEG-compressed TIFF"},
		{"cmyk-jpeg.tif", tiffFile(map[uint16]uint32{258: 8, 259: 7, 262: 5, 277: 4}, 16), ErrUnsupportedFeature, "it is a CMYK, JPEG-compressed TIFF"},
		{"float.tif", tiffFile(map[uint16]uint32{258: 32, 259: 1, 262: 1, 277: 1, 339: 3}, 16), ErrUnsupportedFeature, "it is a TIFF with an unsupported feature (sample format)"},
		{"animated.webp", animatedWebP(), ErrUnsupportedFeature, "it is an animated WebP"},
		{"arith.jpg", jpegSOF(0xc9, 0), ErrUnsupportedFeature, "it is an arithmetic-coded JPEG"},
		{"lossless.jpg", jpegSOF(0xc3, 0), ErrUnsupportedFeature, "it is a lossless JPEG"},
		{"12bit.jpg", jpegSOF(0xc1, 12), ErrUnsupportedFeature, "more than 8 bits per sample"},
		{"rle.bmp", rleBMP(t), ErrUnsupportedFeature, "an RLE8-compressed BMP"},
		// Non-images are named by type, and their bytes never quoted.
		{"doc.pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj secret"), ErrUnsupported, "it is a PDF document"},
		{"a.zip", []byte("PK\x03\x04\x14\x00\x00\x00secret.txt"), ErrUnsupported, "it is a ZIP archive"},
		{"a.gz", []byte("\x1f\x8b\x08\x00secret"), ErrUnsupported, "gzip-compressed"},
		{"prog", []byte("\x7fELF\x02\x01\x01\x00secret"), ErrUnsupported, "ELF executable"},
		{"page.html", []byte("<!DOCTYPE html><title>secret</title>"), ErrUnsupported, "HTML document"},
		{"data.xml", []byte("<?xml version=\"1.0\"?><secret/>"), ErrUnsupported, "XML document"},
		{"shadow", []byte(shadow), ErrUnsupported, "it is a text file;"},
		{"mz.txt", []byte("MZ secret notes, plain text\n"), ErrUnsupported, "it is a text file;"},
		{"x.ppm", []byte("P6\n1 1\n255\n\x00\x00\x00"), ErrUnsupported, "Netpbm"},
		{"missing.png", nil, fs.ErrNotExist, "check the path"},
		{"empty.jpg", []byte{}, ErrEmpty, "0 bytes"},
		{"cut.png", good[:len(good)/2], ErrTruncated, "PNG data ends early"},
		{"cut-header.png", good[:6], ErrTruncated, "starts like a PNG file"},
		{"cut.jpg", goodJPEG[:len(goodJPEG)/2], ErrTruncated, "JPEG data ends early"},
		{"cut-scan.jpg", goodJPEG[:len(goodJPEG)-20], ErrTruncated, "JPEG data ends early"},
		{"notes.txt", []byte("just some notes\nnot a picture\n"), ErrUnsupported, "it is a text file;"},
		{"page.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), ErrUnsupported, "SVG image"},
		{"photo.heic", append([]byte("\x00\x00\x00\x18ftypheic"), make([]byte, 20)...), ErrUnsupported, "HEIF/HEIC"},
		{"photo.avif", append([]byte("\x00\x00\x00\x18ftypavif"), make([]byte, 20)...), ErrUnsupported, "AVIF"},
		{"noise.bin", []byte{0x00, 0x01, 0x02, 0xfe, 0x80, 0x81, 0x00, 0x00, 0x07}, ErrUnsupported, "its 9 bytes match no known file type"},
		{"bad-crc.png", append(append([]byte{}, good[:30]...), append([]byte{good[30] ^ 0xff}, good[31:]...)...), ErrCorrupt, "PNG decoder rejected"},
		{"huge.png", hugePNG(t, 20000, 20000), ErrTooLarge, "20000×20000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.name)
			if tt.data != nil {
				if err := os.WriteFile(path, tt.data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			img, err := Decode(path)
			if err == nil {
				t.Fatalf("Decode = %T, want error", img)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error does not name the file %s: %v", path, msg)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error is not %v: %v", tt.wantErr, msg)
			}
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("error lacks %q: %v", tt.wantMsg, msg)
			}
			if errors.Is(err, ErrUnsupported) && !strings.Contains(msg, SupportedFormats) {
				t.Errorf("unsupported-format error does not list %s: %v", SupportedFormats, msg)
			}
			if errors.Is(err, ErrUnsupportedFeature) && errors.Is(err, ErrCorrupt) {
				t.Errorf("a valid but unsupported image is also called corrupt: %v", msg)
			}
			// The file's content never reaches the message.
			for _, secret := range []string{"secret", "s3cr3t", "notes", "xmlns"} {
				if strings.Contains(strings.TrimPrefix(msg, "imagefile: "+strconv.Quote(path)), secret) {
					t.Errorf("error quotes the file's bytes (%q): %v", secret, msg)
				}
			}
		})
	}
}

// panicMagic starts a test-only format whose decoder panics, standing in
// for a decoder bug.
const panicMagic = "PANICFMT"

func init() {
	boom := func(io.Reader) (image.Image, error) { panic("index out of range") }
	image.RegisterFormat("panicfmt", panicMagic, boom, func(io.Reader) (image.Config, error) { panic("index out of range") })
}

func TestDecodeRecoversDecoderPanic(t *testing.T) {
	path := writeFile(t, "crash.img", []byte(panicMagic+"rest"))
	_, err := Decode(path)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "crashed") {
		t.Fatalf("Decode = %v, want ErrCorrupt naming %s and the crash", err, path)
	}
}

// TestDecodeNotRegular checks Decode refuses what is not a regular file
// unread: a directory, and a named pipe without a writer, which a plain
// read would wait on forever.
func TestDecodeNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.jpg")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, fifo, "/dev/zero"} {
		_, err := withTimeout(t, func() ([]byte, error) { _, err := Decode(path); return nil, err })
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), path) {
			t.Errorf("Decode(%s) = %v, want ErrNotRegular naming it", path, err)
		}
	}
}

func TestDecodeReader(t *testing.T) {
	tests := []struct {
		name    string
		r       func() *bytes.Reader
		wantErr bool
	}{
		{"upload.png", func() *bytes.Reader { return bytes.NewReader(encode(t, "png", markedImage(5, 4))) }, false},
		{"upload.bin", func() *bytes.Reader { return bytes.NewReader([]byte("nope")) }, true},
		{"upload.empty", func() *bytes.Reader { return bytes.NewReader(nil) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := DecodeReader(tt.r(), tt.name)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.name) {
					t.Fatalf("DecodeReader = %v, want an error naming %q", err, tt.name)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeReader: %v", err)
			}
			if got := img.Bounds().Size(); got != image.Pt(5, 4) {
				t.Errorf("size = %v, want 5×4", got)
			}
		})
	}
	// A failing reader is reported with the name and the cause.
	cause := errors.New("connection reset")
	_, err := DecodeReader(iotest.ErrReader(cause), "stream.jpg")
	if !errors.Is(err, cause) || !strings.Contains(err.Error(), "stream.jpg") {
		t.Errorf("DecodeReader(failing reader) = %v, want it to wrap %v and name stream.jpg", err, cause)
	}
}

// typeName is the dynamic type of v as %T prints it.
func typeName(v any) string { return fmt.Sprintf("%T", v) }

// FuzzDecodeReader checks that arbitrary bytes give either a non-empty
// image or an error naming the input, never a panic; the seeds, one small
// file per format, run in every go test.
func FuzzDecodeReader(f *testing.F) {
	for _, format := range []string{"png", "jpeg", "gif", "bmp", "tiff", "webp"} {
		f.Add(encode(f, format, markedImage(6, 3)))
	}
	f.Add(withEXIF(encode(f, "jpeg", markedImage(6, 3)), 6, binary.BigEndian, true))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeReader(bytes.NewReader(data), "fuzz-input")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz-input") {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		if img.Bounds().Empty() {
			t.Fatalf("DecodeReader returned an empty %T and no error", img)
		}
		b := img.Bounds()
		if tooLarge(b.Dx(), b.Dy()) {
			return
		}
		if err := ToTensor(img, 5, 4, 3, Torch, make([]float32, 5*4*3)); err != nil {
			t.Fatalf("ToTensor on a decoded image: %v", err)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	src := markedImage(640, 480)
	for _, format := range []string{"jpeg", "png"} {
		data := encode(b, format, src)
		b.Run(format, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := DecodeReader(bytes.NewReader(data), format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
