package imagefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// This file names what a file is from its first bytes, for error messages:
// the kind of a valid image the decoders cannot read (unsupportedKind) and
// the type of a file that is no image at all (describeUnknown). Neither
// ever returns the file's own bytes: a list may name any file, and its
// content must not end up in a log.

// magics are file types recognised by their first bytes, in order; '?'
// matches any byte.
var magics = []struct{ magic, kind string }{
	{"%PDF-", "a PDF document"},
	{"%!PS", "a PostScript document"},
	{"PK\x03\x04", "a ZIP archive (or a document in one: DOCX, ODT, EPUB, JAR)"},
	{"PK\x05\x06", "an empty ZIP archive"},
	{"\x1f\x8b", "a gzip-compressed file"},
	{"BZh", "a bzip2-compressed file"},
	{"\xfd7zXZ\x00", "an xz-compressed file"},
	{"\x28\xb5\x2f\xfd", "a Zstandard-compressed file"},
	{"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"},
	{"Rar!\x1a\x07", "a RAR archive"},
	{"\x7fELF", "an ELF executable or library"},
	{"MZ", "a Windows executable (PE)"},
	{"\xfe\xed\xfa\xce", "a Mach-O executable"},
	{"\xfe\xed\xfa\xcf", "a Mach-O executable"},
	{"\xcf\xfa\xed\xfe", "a Mach-O executable"},
	{"\xce\xfa\xed\xfe", "a Mach-O executable"},
	{"\xca\xfe\xba\xbe", "a Java class file or universal Mach-O executable"},
	{"SQLite format 3\x00", "an SQLite database"},
	{"\x93NUMPY", "a NumPy array (.npy)"},
	{"\x89HDF\r\n\x1a\n", "an HDF5 file"},
	{"OggS", "an Ogg audio or video file"},
	{"fLaC", "a FLAC audio file"},
	{"ID3", "an MP3 audio file"},
	{"RIFF????WAVE", "a WAV audio file"},
	{"RIFF????AVI ", "an AVI video"},
	{"\x1a\x45\xdf\xa3", "a Matroska or WebM video"},
	{"8BPS", "a Photoshop (PSD) file, which is not supported"},
	{"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image, which is not supported"},
	{"\xff\x4f\xff\x51", "a JPEG 2000 codestream, which is not supported"},
	{"\x00\x00\x00\x0cJXL ", "a JPEG XL image, which is not supported"},
	{"\xff\x0a", "a JPEG XL image, which is not supported"},
	{"\x76\x2f\x31\x01", "an OpenEXR image, which is not supported"},
	{"\x00\x00\x01\x00", "a Windows icon (ICO), which is not supported"},
	{"qoif", "a QOI image, which is not supported"},
	{"P1", "a Netpbm image, which is not supported"},
	{"P2", "a Netpbm image, which is not supported"},
	{"P3", "a Netpbm image, which is not supported"},
	{"P4", "a Netpbm image, which is not supported"},
	{"P5", "a Netpbm image, which is not supported"},
	{"P6", "a Netpbm image, which is not supported"},
}

// hasMagic reports whether data starts with magic, '?' matching any byte.
func hasMagic(data []byte, magic string) bool {
	if len(data) < len(magic) {
		return false
	}
	for i := 0; i < len(magic); i++ {
		if magic[i] != '?' && magic[i] != data[i] {
			return false
		}
	}
	return true
}

// describeUnknown says what data is when no registered decoder recognised
// it, so the error tells a text file from a HEIC photo or a PDF.
func describeUnknown(data []byte) string {
	if len(data) >= 12 && string(data[4:8]) == "ftyp" {
		switch brand := string(data[8:12]); brand {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
			return "it is a HEIF/HEIC image (brand " + brand + "), which is not supported"
		case "avif", "avis":
			return "it is an AVIF image, which is not supported"
		case "crx ":
			return "it is a Canon CR3 raw photo, which is not supported"
		}
		return "it is an ISO media file (MP4, MOV, 3GP), not a still image"
	}
	if len(data) >= 12 && hasMagic(data, "RIFF????WEBP") {
		return "it is a WebP file of a kind the decoder does not know"
	}
	text := looksLikeText(data)
	for _, m := range magics {
		if !hasMagic(data, m.magic) {
			continue
		}
		netpbm := len(m.magic) == 2 && m.magic[0] == 'P'
		switch {
		case netpbm && (len(data) < 3 || !isSpace(data[2])):
			continue // "P6\n" is Netpbm, "Plain text" is not
		case !netpbm && text && len(m.magic) <= 3:
			continue // a text that starts "MZ" or "ID3" is still text
		}
		return "it is " + m.kind
	}
	if hasMagic(data, "ustar") || (len(data) >= 262 && string(data[257:262]) == "ustar") {
		return "it is a tar archive"
	}
	if text {
		return "it is " + textKind(data)
	}
	return fmt.Sprintf("its %d bytes match no known file type", len(data))
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\r' || b == '\t' }

// textKind names the kind of a text file from its first non-blank bytes.
func textKind(data []byte) string {
	head := bytes.TrimLeft(data[:min(len(data), 512)], "\ufeff \t\r\n")
	lower := strings.ToLower(string(head[:min(len(head), 64)]))
	switch {
	case strings.HasPrefix(lower, "<!doctype html") || strings.HasPrefix(lower, "<html"):
		return "an HTML document (a web page saved instead of the image?)"
	case strings.HasPrefix(lower, "<svg") || (strings.HasPrefix(lower, "<?xml") && bytes.Contains(bytes.ToLower(head), []byte("<svg"))):
		return "an SVG image (vector graphics), which is not supported"
	case strings.HasPrefix(lower, "<?xml") || strings.HasPrefix(lower, "<"):
		return "an XML document"
	case strings.HasPrefix(lower, "#!"):
		return "a script"
	case strings.HasPrefix(lower, "{") || strings.HasPrefix(lower, "["):
		return "a text file (JSON?)"
	case len(head) == 0:
		return "a text file of blank lines"
	}
	return "a text file"
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

// unsupportedKind names a valid image in a supported format that its
// decoder cannot read ("a CMYK TIFF", "an animated WebP"), or returns ""
// when err does not say the data uses an unimplemented feature.
func unsupportedKind(format string, data []byte, err error) string {
	switch format {
	case "tiff":
		var ue tiff.UnsupportedError
		if errors.As(err, &ue) {
			return tiffKind(data, string(ue))
		}
	case "jpeg":
		var ue jpeg.UnsupportedError
		if errors.As(err, &ue) {
			return jpegKind(data, string(ue))
		}
	case "png":
		var ue png.UnsupportedError
		if errors.As(err, &ue) {
			return "a PNG with an unsupported feature (" + string(ue) + ")"
		}
	case "bmp":
		if errors.Is(err, bmp.ErrUnsupported) {
			return bmpKind(data)
		}
	case "webp":
		// VP8X flags, bit 1: animation. x/image/webp reads the header
		// (DecodeConfig succeeds), then finds no still frame.
		if len(data) >= 21 && string(data[12:16]) == "VP8X" && data[20]&0x02 != 0 {
			return "an animated WebP"
		}
	}
	return ""
}

// tiffKind names a TIFF by the tags of its first image that the x/image
// decoder does not implement; feature is the decoder's own word for it.
func tiffKind(data []byte, feature string) string {
	photometric, compression, ok := tiffTags(data)
	var parts []string
	if ok {
		if name, bad := map[uint32]string{
			4: "transparency-mask", 5: "CMYK", 6: "YCbCr", 8: "CIELab", 9: "ICC Lab", 10: "ITU Lab",
			32844: "LogL", 32845: "LogLuv", 32803: "raw colour-filter-array", 34892: "linear raw",
		}[photometric]; bad {
			parts = append(parts, name)
		}
		if name, bad := map[uint32]string{
			6: "old-style-JPEG-compressed", 7: "JPEG-compressed", 34712: "JPEG-2000-compressed",
			34887: "LERC-compressed", 34925: "LZMA-compressed", 50000: "Zstandard-compressed",
			50001: "WebP-compressed", 34713: "NEF-compressed",
		}[compression]; bad {
			parts = append(parts, name)
		}
	}
	if len(parts) == 0 {
		return "a TIFF with an unsupported feature (" + feature + ")"
	}
	return article(parts[0]) + " " + strings.Join(parts, ", ") + " TIFF"
}

// tiffTags reads PhotometricInterpretation (262) and Compression (259) of
// the first IFD; ok is false when the header cannot be followed.
func tiffTags(data []byte) (photometric, compression uint32, ok bool) {
	if len(data) < 8 {
		return 0, 0, false
	}
	var bo binary.ByteOrder
	switch string(data[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0, 0, false
	}
	off := int64(bo.Uint32(data[4:8]))
	if off < 8 || off+2 > int64(len(data)) {
		return 0, 0, false
	}
	n := int64(bo.Uint16(data[off:]))
	compression = 1
	for i := int64(0); i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > int64(len(data)) {
			return 0, 0, false
		}
		tag, typ := bo.Uint16(data[e:]), bo.Uint16(data[e+2:])
		var v uint32
		switch typ {
		case 3: // SHORT, inline
			v = uint32(bo.Uint16(data[e+8:]))
		case 4: // LONG, inline
			v = bo.Uint32(data[e+8:])
		default:
			continue
		}
		switch tag {
		case 259:
			compression = v
		case 262:
			photometric, ok = v, true
		}
	}
	return photometric, compression, ok
}

// jpegKind names a JPEG by its frame type (the first SOF marker) or the
// decoder's unsupported feature.
func jpegKind(data []byte, feature string) string {
	switch sof := jpegSOF(data); {
	case sof == 0xc3 || sof == 0xc7 || sof == 0xcb || sof == 0xcf:
		return "a lossless JPEG"
	case sof == 0xc5 || sof == 0xc6 || sof == 0xcd || sof == 0xce:
		return "a hierarchical JPEG"
	case sof >= 0xc9 && sof <= 0xcf:
		return "an arithmetic-coded JPEG"
	}
	switch {
	case feature == "precision":
		return "a JPEG of more than 8 bits per sample (12-bit?)"
	case strings.Contains(feature, "4-component"):
		return "a 4-component (CMYK or YCCK) JPEG without the Adobe marker that says which"
	}
	return "a JPEG with an unsupported feature (" + feature + ")"
}

// jpegSOF returns the first start-of-frame marker of a JPEG (0xc0-0xcf
// but DHT, JPG and DAC), or 0.
func jpegSOF(data []byte) byte {
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return 0
		}
		m := data[i+1]
		if m == 0xff { // fill byte
			i++
			continue
		}
		if m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc {
			return m
		}
		if m == 0xda || m == 0xd9 { // scan or end: no frame header before it
			return 0
		}
		if m >= 0xd0 && m <= 0xd7 || m == 0x01 {
			i += 2
			continue
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
	}
	return 0
}

// bmpKind names a BMP by its bit depth and compression.
func bmpKind(data []byte) string {
	if len(data) < 34 {
		return "a BMP of a kind the decoder does not read"
	}
	bpp := binary.LittleEndian.Uint16(data[28:])
	comp := binary.LittleEndian.Uint32(data[30:])
	if name, ok := map[uint32]string{1: "RLE8", 2: "RLE4", 4: "JPEG", 5: "PNG"}[comp]; ok {
		return article(name) + " " + name + "-compressed BMP"
	}
	return fmt.Sprintf("%s %d-bit BMP", article(fmt.Sprint(bpp)), bpp)
}

// article is "a" or "an" for word, by how it is read aloud ("an RLE8", "an
// 8-bit", "a CMYK").
func article(word string) string {
	if word != "" && (strings.ContainsRune("AEIOaeio8", rune(word[0])) || strings.HasPrefix(word, "RLE") || word == "11" || word == "18") {
		return "an"
	}
	return "a"
}

// PNGHasAlpha reports whether PNG data may carry transparency: a colour
// type with alpha (grey+alpha, RGBA), or a tRNS chunk (a transparent
// colour or palette entries) before the image data. Data it cannot parse
// counts as having alpha, the path that is right for every PNG.
func PNGHasAlpha(data []byte) bool {
	const sig = "\x89PNG\r\n\x1a\n"
	if len(data) < 33 || string(data[:8]) != sig || string(data[12:16]) != "IHDR" {
		return true
	}
	if ct := data[25]; ct == 4 || ct == 6 {
		return true
	}
	for p := 8; p+8 <= len(data); {
		n := int64(data[p])<<24 | int64(data[p+1])<<16 | int64(data[p+2])<<8 | int64(data[p+3])
		switch string(data[p+4 : p+8]) {
		case "tRNS":
			return true
		case "IDAT", "IEND":
			return false
		}
		next := int64(p) + 12 + n
		if n < 0 || next > int64(len(data)) {
			return true
		}
		p = int(next)
	}
	return true
}
