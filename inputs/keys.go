package inputs

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// An input's key names its output folder under --out: OutputDir(out, key).
// It is a slash-separated relative path derived from the input's own path
// and the argument it came through, and from nothing else, so an image's
// key never changes when other inputs are added to a later run:
//
//   - a file found by walking a folder argument: its path relative to that
//     folder ("photos/" → "x.jpg", "sub/y.JPG");
//   - a file named as an argument, a glob match or a list line: the path as
//     given, cleaned, when it stays below the working directory
//     ("photos/x.jpg" → "photos/x.jpg"), else its base name
//     ("/data/x.jpg", "../x.jpg" → "x.jpg").
//
// The extension stays, so x.jpg and x.png of one folder get two folders.
// Each path component is then escaped so that no input can name a folder
// outside --out or over tfcam's own files there:
//
//   - '%', '\', control characters (below 0x20, 0x7f) and bytes that are
//     not UTF-8 become %XX (upper-case hex): "100%.png" → "100%25.png",
//     "a\nb.png" → "a%0Ab.png";
//   - a leading '.' becomes %2E, so no component is ".", ".." or hidden
//     (tfcam's lock and temporary files start with '.'): "...png" →
//     "%2E..png", ".png" → "%2Epng";
//   - in the first component only, a name of tfcam's own root files (any
//     name ending, in any case, in .html, .htm, .json, .jsonl, .tfrecord
//     or .lock: index.html, index-2.html, results.jsonl,
//     results-00001-of-00004.jsonl, ...) has its last '.' escaped:
//     "index.html" → "index%2Ehtml"; "index.html.png" is left alone.
//
// Escaping is reversible (UnescapeKey), so different paths give different
// keys. Two inputs can still share a key when they come through different
// arguments (a/x.jpg walked from "a", and x.jpg named in the working
// directory), or one's folder would hold the other's ("a.jpg" and
// "a.jpg/b.png"): Expand then reports the later one, in path order,
// as a duplicate and skips it.

// maxKeyComponent is the longest component a key may have: most file
// systems refuse names over 255 bytes, and escaping can lengthen a name.
const maxKeyComponent = 255

// reservedRootSuffixes end the names of files tfcam writes in --out
// itself; a key's first component must not end so. Keep new root files
// (and their temporary and lock files, which start with '.') in this set.
var reservedRootSuffixes = []string{".html", ".htm", ".json", ".jsonl", ".tfrecord", ".lock"}

// errBadKey marks a key that escaping could not make safe (too long).
var errBadKey = errors.New("no usable output folder name")

// FileKey is the key of a file named directly: an argument, a glob match
// or a list line.
func FileKey(path string) string {
	clean := filepath.Clean(path)
	if filepath.IsLocal(clean) {
		return escapeKey(strings.Split(filepath.ToSlash(clean), "/"))
	}
	return escapeKey([]string{filepath.Base(clean)})
}

// WalkKey is the key of a file found by walking a folder; parts is its
// path below that folder, one element per component.
func WalkKey(parts []string) string { return escapeKey(parts) }

// escapeKey escapes each path component and joins them with '/'.
func escapeKey(parts []string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = escapeComponent(p)
	}
	if len(out) > 0 && reservedRoot(out[0]) {
		i := strings.LastIndexByte(out[0], '.')
		out[0] = out[0][:i] + "%2E" + out[0][i+1:]
	}
	return strings.Join(out, "/")
}

// escapeComponent percent-encodes what must not appear in a folder name.
func escapeComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		switch {
		case r == utf8.RuneError && size <= 1, c < 0x20, c == 0x7f, c == '%', c == '\\', c == '/', i == 0 && c == '.':
			fmt.Fprintf(&b, "%%%02X", c)
			i++
			continue
		}
		b.WriteString(s[i : i+size])
		i += size
	}
	return b.String()
}

// reservedRoot reports whether name is, or could be, one of tfcam's own
// files in the root of --out.
func reservedRoot(name string) bool {
	lower := strings.ToLower(name)
	for _, s := range reservedRootSuffixes {
		if strings.HasSuffix(lower, s) {
			return true
		}
	}
	return strings.HasPrefix(name, ".")
}

// UnescapeKey reverses escapeKey: the path components a key came from.
func UnescapeKey(key string) ([]string, error) {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		var b strings.Builder
		for j := 0; j < len(p); j++ {
			if p[j] != '%' {
				b.WriteByte(p[j])
				continue
			}
			if j+2 >= len(p) {
				return nil, fmt.Errorf("key %q: %% at the end of a component", key)
			}
			v, err := strconv.ParseUint(p[j+1:j+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("key %q: bad escape %q", key, p[j:j+3])
			}
			b.WriteByte(byte(v))
			j += 2
		}
		parts[i] = b.String()
	}
	return parts, nil
}

// CheckKey reports why key cannot name an output folder, or nil: it must
// be relative, of non-empty components none of which is hidden, ".", ".."
// or longer than maxKeyComponent, contain no '\\' or control character,
// and its first component must not be one of tfcam's root files.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", errBadKey)
	}
	parts := strings.Split(key, "/")
	for _, p := range parts {
		switch {
		case p == "":
			return fmt.Errorf("%w: %q has an empty component", errBadKey, key)
		case strings.HasPrefix(p, "."):
			return fmt.Errorf("%w: %q has a component starting with '.'", errBadKey, key)
		case len(p) > maxKeyComponent:
			return fmt.Errorf("%w: a component of %d bytes, over %d; rename the file or its folder", errBadKey, len(p), maxKeyComponent)
		case !utf8.ValidString(p) || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }):
			return fmt.Errorf("%w: %q has a control character, '\\' or bytes that are not UTF-8", errBadKey, key)
		}
	}
	if reservedRoot(parts[0]) {
		return fmt.Errorf("%w: %q would clash with tfcam's own files in --out", errBadKey, key)
	}
	return nil
}

// OutputDir is the folder of an input's outputs: key below out.
func OutputDir(out, key string) string { return filepath.Join(out, filepath.FromSlash(key)) }
