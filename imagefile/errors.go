package imagefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
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
	// ErrTooLarge means the image has more than MaxPixels pixels.
	ErrTooLarge = errors.New("image is too large")
)

// errDecoderPanic marks a decoder panic recovered by safeDecode.
var errDecoderPanic = errors.New("the image decoder panicked")

// formatNames maps image.Decode's format names to the names users know.
var formatNames = map[string]string{
	"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF", "webp": "WebP",
}

// decodeError explains why image.Decode rejected data read from name.
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

// describeUnknown says what data looks like when no registered decoder
// recognised it, so the error tells a text file from a HEIC photo.
func describeUnknown(data []byte) string {
	head := data[:min(len(data), 16)]
	switch {
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		brand := string(data[8:12])
		switch brand {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
			return "it is a HEIF/HEIC image (brand " + brand + "), which is not supported"
		case "avif", "avis":
			return "it is an AVIF image, which is not supported"
		}
		return fmt.Sprintf("it is an ISO media file (brand %q), not a still image", brand)
	case bytes.HasPrefix(data, []byte{0xff, 0x0a}) || bytes.HasPrefix(data, []byte("\x00\x00\x00\x0cJXL ")):
		return "it is a JPEG XL image, which is not supported"
	case bytes.HasPrefix(data, []byte("8BPS")):
		return "it is a Photoshop (PSD) file, which is not supported"
	case bytes.HasPrefix(data, []byte("RIFF")) && len(data) >= 12 && string(data[8:12]) == "WEBP":
		return "it is a WebP file of a kind the decoder does not know"
	case looksLikeText(data):
		line, _, _ := strings.Cut(string(data[:min(len(data), 40)]), "\n")
		return fmt.Sprintf("it looks like a text file (starts %q)", line)
	}
	return fmt.Sprintf("its first bytes % x match no known image format", head)
}

// looksLikeText reports whether the start of data is valid UTF-8 without
// control characters other than whitespace.
func looksLikeText(data []byte) bool {
	head := data[:min(len(data), 512)]
	for len(head) > 0 {
		r, size := utf8.DecodeRune(head)
		if r == utf8.RuneError && size <= 1 {
			// A multi-byte rune cut by the 512-byte window is still text.
			return len(head) < utf8.UTFMax && len(data) > 512
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f' {
			return false
		}
		head = head[size:]
	}
	return true
}
