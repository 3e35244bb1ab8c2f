package imagefile

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// SupportedFormats lists the file formats Decode reads, as errors spell them.
const SupportedFormats = "JPEG, PNG, GIF, BMP, TIFF, WebP"

// Sentinel errors wrapped by Decode and DecodeReader, for errors.Is. The
// returned errors also name the file and carry the decoder's own error.
var (
	// ErrEmpty means the file has no bytes at all.
	ErrEmpty = errors.New("file is empty (0 bytes)")
	// ErrTruncated means the data starts like a supported image but ends early.
	ErrTruncated = errors.New("image data is truncated")
	// ErrUnsupported means the data is not an image in a supported format.
	ErrUnsupported = errors.New("not an image in a supported format (" + SupportedFormats + ")")
	// ErrCorrupt means the decoder recognised the format but rejected the data.
	ErrCorrupt = errors.New("image data is corrupt")
	// ErrUnsupportedFeature means the data is an image in a supported
	// format that uses a feature its decoder lacks (a CMYK or
	// JPEG-compressed TIFF, an animated WebP, an arithmetic-coded JPEG).
	ErrUnsupportedFeature = errors.New("unsupported kind of image")
	// ErrTooLarge means the image has more than MaxPixels pixels.
	ErrTooLarge = errors.New("image is too large")
	// ErrNotRegular means the path is not a regular file (a directory, a
	// named pipe, a device, a socket): ReadFile refuses it unread.
	ErrNotRegular = errors.New("not a regular file")
	// ErrFileTooLarge means the file has more bytes than ReadFile's limit.
	ErrFileTooLarge = errors.New("file is too large")
)

// errDecoderPanic marks a decoder panic recovered by safeDecode.
var errDecoderPanic = errors.New("the image decoder panicked")

// formatNames maps image.Decode's format names to the names users know.
var formatNames = map[string]string{
	"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF", "webp": "WebP",
}

// decodeError explains why image.Decode rejected data read from name. The
// message never quotes the data: it may be any file (a line of a password
// file named in a list), so it names the file's type instead.
func decodeError(name, format string, data []byte, err error) error {
	f := formatNames[format]
	if f == "" {
		f = format
	}
	switch {
	case errors.Is(err, errDecoderPanic):
		return fmt.Errorf("imagefile: %q: %w: malformed data crashed the image decoder; re-export the file, or convert it to PNG: %w",
			name, ErrCorrupt, err)
	case format == "" && startsLike(data) != "":
		return fmt.Errorf("imagefile: %q: %w: it starts like a %s file but ends after %d bytes (cut off by a copy or download?); fetch or export the file again: %w",
			name, ErrTruncated, startsLike(data), len(data), err)
	case format == "":
		return fmt.Errorf("imagefile: %q: %w: %s; convert it to PNG or JPEG: %w",
			name, ErrUnsupported, describeUnknown(data), err)
	}
	if kind := unsupportedKind(format, data, err); kind != "" {
		return fmt.Errorf("imagefile: %q: %w: it is %s, which the %s decoder cannot read; convert it to an RGB PNG or JPEG: %w",
			name, ErrUnsupportedFeature, kind, f, err)
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || looksTruncated(err):
		return fmt.Errorf("imagefile: %q: %w: the %s data ends early after %d bytes (cut off by a copy or download?); fetch or export the file again: %w",
			name, ErrTruncated, f, len(data), err)
	default:
		return fmt.Errorf("imagefile: %q: %w: the %s decoder rejected it; re-export the file, or convert it to PNG: %w",
			name, ErrCorrupt, f, err)
	}
}

// looksTruncated recognises decoder errors that mean "ran out of data"
// without wrapping io.ErrUnexpectedEOF.
func looksTruncated(err error) bool {
	msg := err.Error()
	for _, s := range []string{"not enough pixel data", "short Huffman data", "not enough image data", "missing SOS marker", "unexpected EOF"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// signatures are the magic numbers image.Decode sniffs, '?' matching any
// byte, with the formats they announce.
var signatures = []struct{ magic, format string }{
	{"\xff\xd8", "JPEG"},
	{"\x89PNG\r\n\x1a\n", "PNG"},
	{"GIF8?a", "GIF"},
	{"BM????\x00\x00\x00\x00", "BMP"},
	{"II*\x00", "TIFF"},
	{"MM\x00*", "TIFF"},
	{"RIFF????WEBPVP8", "WebP"},
}

// startsLike returns the format whose signature data is a strict prefix
// of, or "" if none: such a file was cut off before the sniffer could
// recognise it.
func startsLike(data []byte) string {
	if len(data) < 2 {
		return "" // one byte says nothing
	}
	for _, s := range signatures {
		if len(data) >= len(s.magic) {
			continue
		}
		match := true
		for i, b := range data {
			if s.magic[i] != '?' && s.magic[i] != b {
				match = false
				break
			}
		}
		if match {
			return s.format
		}
	}
	return ""
}

// IsImageError reports whether err says what is wrong with an image or
// its file (one of the errors above) rather than with reading it: a
// batch job skips such an image and goes on.
func IsImageError(err error) bool {
	for _, e := range []error{ErrEmpty, ErrTruncated, ErrUnsupported, ErrCorrupt, ErrUnsupportedFeature, ErrTooLarge, ErrNotRegular, ErrFileTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
