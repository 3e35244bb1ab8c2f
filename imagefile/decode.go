package imagefile

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"

	// Decoders for every supported format register themselves with image.Decode.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Decode reads the image file at path. Supported formats are JPEG, PNG,
// GIF (first frame only), BMP, TIFF and WebP; the format is sniffed from the
// content, never from the extension.
//
// The EXIF orientation of a JPEG (tags 1-8) is applied, so the image comes
// back the way a photo viewer shows it; a rotated or flipped JPEG is
// returned as *image.NRGBA. Other images keep the decoder's concrete type
// (*image.YCbCr, *image.Paletted, *image.Gray16, ...); ToTensor accepts
// them all.
//
// The file is read with ReadFile: a named pipe, device or directory is
// refused unread (ErrNotRegular), a file over MaxFileBytes unread too
// (ErrFileTooLarge).
//
// Errors name path and say what is wrong: a missing or unreadable file
// (wrapping the fs error), a zero-byte file (ErrEmpty), data cut short
// (ErrTruncated), data that is not an image in a supported format
// (ErrUnsupported, listing the supported ones and naming the file's type:
// PDF, ZIP, HTML, text...), a valid image of a kind the decoder cannot read
// (ErrUnsupportedFeature: a CMYK or JPEG-compressed TIFF, an animated
// WebP), data the decoder rejects (ErrCorrupt) or a header announcing more
// than MaxPixels pixels (ErrTooLarge, checked before any pixel memory is
// allocated). No message quotes the file's bytes.
func Decode(path string) (image.Image, error) {
	data, err := ReadFile(path, MaxFileBytes)
	if err != nil {
		return nil, err
	}
	return decodeBytes(data, path)
}

// DecodeReader is Decode for a file that is already open, in memory or
// streamed. It reads r to the end. name is used in error messages only.
func DecodeReader(r io.Reader, name string) (image.Image, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("imagefile: %q: reading the image data failed: %w", name, err)
	}
	return decodeBytes(data, name)
}

// MaxPixels is the largest image, in pixels (width×height), that Decode
// decodes and ToTensor resamples: 2^28, about 268 megapixels or 1 GiB as
// 8-bit RGBA. It is far above any camera and guards against headers that
// claim absurd sizes and virtual images such as image.Uniform.
const MaxPixels = 1 << 28

// tooLarge reports whether a w×h image exceeds MaxPixels, without
// overflowing for huge or negative sides.
func tooLarge(w, h int) bool {
	return w < 0 || h < 0 || (w > 0 && h > MaxPixels/w)
}

// decodeBytes decodes a whole file held in memory; holding it lets the
// EXIF orientation be read without a second pass over a stream.
func decodeBytes(data []byte, name string) (image.Image, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("imagefile: %q: %w; the copy or download that made it probably failed, fetch it again", name, ErrEmpty)
	}
	// The header alone says how much memory decoding will take; refusing
	// here keeps one hostile or broken file from exhausting a batch job.
	cfg, format, err := safely(image.DecodeConfig, data)
	if errors.Is(err, errDecoderPanic) {
		return nil, decodeError(name, format, data, err)
	}
	if err == nil && tooLarge(cfg.Width, cfg.Height) {
		return nil, fmt.Errorf("imagefile: %q: %w: the %s header says %d×%d pixels, over the limit of %d; downscale it first",
			name, ErrTooLarge, formatNames[format], cfg.Width, cfg.Height, MaxPixels)
	}
	img, format, err := safely(image.Decode, data)
	if err != nil {
		return nil, decodeError(name, format, data, err)
	}
	if b := img.Bounds(); b.Empty() {
		return nil, fmt.Errorf("imagefile: %q: %w: the %s image has no pixels (%d×%d); re-export it",
			name, ErrCorrupt, formatNames[format], b.Dx(), b.Dy())
	}
	if format == "jpeg" {
		img = applyOrientation(img, jpegOrientation(data))
	}
	return img, nil
}

// safely calls image.Decode or image.DecodeConfig and turns a decoder
// panic into an error wrapping errDecoderPanic: the x/image decoders have
// had input-triggered panics, and one bad file must not bring down a job
// over millions of them.
func safely[T any](decode func(io.Reader) (T, string, error), data []byte) (v T, format string, err error) {
	defer func() {
		if r := recover(); r != nil {
			var zero T
			v, err = zero, fmt.Errorf("%w: %v", errDecoderPanic, r)
		}
	}()
	return decode(bytes.NewReader(data))
}
