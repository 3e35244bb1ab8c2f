package inputs

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFileAndWalkKeys(t *testing.T) {
	cases := []struct {
		name string
		key  string
		want string
	}{
		{"relative path kept", FileKey("photos/x.jpg"), "photos/x.jpg"},
		{"cleaned", FileKey("./photos//sub/../x.jpg"), "photos/x.jpg"},
		{"absolute: base name", FileKey("/data/photos/x.jpg"), "x.jpg"},
		{"above the working directory: base name", FileKey("../x.jpg"), "x.jpg"},
		{"extension kept: jpg", WalkKey([]string{"x.jpg"}), "x.jpg"},
		{"extension kept: png", WalkKey([]string{"x.png"}), "x.png"},
		{"three dots", WalkKey([]string{"...png"}), "%2E..png"},
		{"two dots", WalkKey([]string{"..png"}), "%2E.png"},
		{"dot", WalkKey([]string{".png"}), "%2Epng"},
		{"dot-dot component", WalkKey([]string{"..", "x.png"}), "%2E./x.png"},
		{"dot component", WalkKey([]string{".", "x.png"}), "%2E/x.png"},
		{"hidden folder", WalkKey([]string{".cache", "x.png"}), "%2Ecache/x.png"},
		{"dot inside is fine", WalkKey([]string{"a.b", "c..png"}), "a.b/c..png"},
		{"index.html.png is not index.html", WalkKey([]string{"index.html.png"}), "index.html.png"},
		{"results.jsonl.png", WalkKey([]string{"results.jsonl.png"}), "results.jsonl.png"},
		{"index.html", WalkKey([]string{"index.html"}), "index%2Ehtml"},
		{"index page 2, any case", WalkKey([]string{"INDEX-2.HTML"}), "INDEX-2%2EHTML"},
		{"results.jsonl", WalkKey([]string{"results.jsonl"}), "results%2Ejsonl"},
		{"shard results", WalkKey([]string{"results-00001-of-00004.jsonl"}), "results-00001-of-00004%2Ejsonl"},
		{"tfrecord", WalkKey([]string{"x.tfrecord"}), "x%2Etfrecord"},
		{"lock", WalkKey([]string{"tfcam.lock"}), "tfcam%2Elock"},
		{"folder named like a root file", WalkKey([]string{"index.html", "x.png"}), "index%2Ehtml/x.png"},
		{"reserved names below the root are fine", WalkKey([]string{"a", "index.html"}), "a/index.html"},
		{"percent", WalkKey([]string{"100%.png"}), "100%25.png"},
		{"escaped-looking name stays distinct", WalkKey([]string{"%2E.png"}), "%252E.png"},
		{"newline", WalkKey([]string{"a\nb.png"}), "a%0Ab.png"},
		{"carriage return and DEL", WalkKey([]string{"a\r\x7f.png"}), "a%0D%7F.png"},
		{"backslash", WalkKey([]string{`a\b.png`}), "a%5Cb.png"},
		{"not UTF-8", WalkKey([]string{"caf\xe9.png"}), "caf%E9.png"},
		{"UTF-8 kept", WalkKey([]string{"café 🐈.png"}), "café 🐈.png"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.key != c.want {
				t.Errorf("key %q, want %q", c.key, c.want)
			}
			if err := CheckKey(c.key); err != nil {
				t.Errorf("CheckKey: %v", err)
			}
			if !insideOut("/o/ut", c.key) {
				t.Errorf("OutputDir(/o/ut, %q) = %s leaves --out", c.key, OutputDir("/o/ut", c.key))
			}
		})
	}
}

func TestCheckKey(t *testing.T) {
	for _, key := range []string{
		"", "..", ".", "../x", "a/../../x", "/abs", "a//b", "a/", ".hidden", "a/.tmp-1",
		"index.html", "Results.JSONL", "results-1-of-2.jsonl", "x.tfrecord", "a\\b", "a\nb", "caf\xe9",
		strings.Repeat("x", 256),
	} {
		if err := CheckKey(key); err == nil {
			t.Errorf("CheckKey(%q) = nil, want an error", key)
		}
	}
	for _, key := range []string{"x.jpg", "a/index.html", "index.html.png", "%2E..png", strings.Repeat("x", 255)} {
		if err := CheckKey(key); err != nil {
			t.Errorf("CheckKey(%q) = %v, want nil", key, err)
		}
	}
}

// insideOut reports whether OutputDir(out, key) is a folder strictly
// inside out that is none of tfcam's root files, by the path alone.
func insideOut(out, key string) bool {
	dir := OutputDir(out, key)
	rel, err := filepath.Rel(out, dir)
	if err != nil || !filepath.IsLocal(rel) || rel == "." {
		return false
	}
	first := strings.Split(filepath.ToSlash(rel), "/")[0]
	return !reservedRoot(first) && filepath.ToSlash(rel) == key
}

// FuzzOutputKey checks, for any path, that its key is safe (CheckKey), its
// folder stays inside --out and is none of tfcam's files, the key has no
// '..' component, is the same every time, and decodes back to the path's
// components (so different paths never share a key).
func FuzzOutputKey(f *testing.F) {
	for _, s := range []string{
		"x.jpg", "...png", "..png", ".png", "..", ".", "index.html", "index.html.png", "results.jsonl.png",
		"results-00001-of-00002.jsonl", "a/../../etc/passwd", "/abs/x.png", "a\\b.png", "a\nb.png", "100%.png",
		"%2E.png", "caf\xe9.png", "", "/", "a//b", "photos/.hidden/x.png", "X.TFRECORD", strings.Repeat("é", 130),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if strings.IndexByte(path, 0) >= 0 {
			return // no file name holds NUL
		}
		// As a walk below a folder: components are real names (no '/',
		// never empty, "." or ".."; escape them anyway).
		var parts []string
		for _, p := range strings.Split(path, "/") {
			if p != "" {
				parts = append(parts, p)
			}
		}
		for _, key := range []string{FileKey(path), WalkKey(parts)} {
			if len(parts) == 0 && key == WalkKey(parts) {
				continue
			}
			if err := CheckKey(key); err != nil {
				if strings.Contains(err.Error(), "bytes, over") {
					continue // too long: reported and skipped by Expand
				}
				t.Fatalf("key %q of %q: %v", key, path, err)
			}
			for _, out := range []string{"out", "/tmp/out", "."} {
				if !insideOut(out, key) {
					t.Fatalf("OutputDir(%q, %q) = %q leaves --out or names a root file", out, key, OutputDir(out, key))
				}
			}
			for _, c := range strings.Split(key, "/") {
				if c == ".." || c == "." || c == "" {
					t.Fatalf("key %q has component %q", key, c)
				}
			}
		}
		if FileKey(path) != FileKey(path) || WalkKey(parts) != WalkKey(parts) {
			t.Fatal("keys differ between calls")
		}
		if len(parts) > 0 {
			got, err := UnescapeKey(WalkKey(parts))
			if err != nil || !reflect.DeepEqual(got, parts) {
				t.Fatalf("UnescapeKey(WalkKey(%q)) = %q, %v", parts, got, err)
			}
		}
	})
}
