package main

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
		{"relative path kept", fileKey("photos/x.jpg"), "photos/x.jpg"},
		{"cleaned", fileKey("./photos//sub/../x.jpg"), "photos/x.jpg"},
		{"absolute: base name", fileKey("/data/photos/x.jpg"), "x.jpg"},
		{"above the working directory: base name", fileKey("../x.jpg"), "x.jpg"},
		{"extension kept: jpg", walkKey([]string{"x.jpg"}), "x.jpg"},
		{"extension kept: png", walkKey([]string{"x.png"}), "x.png"},
		{"three dots", walkKey([]string{"...png"}), "%2E..png"},
		{"two dots", walkKey([]string{"..png"}), "%2E.png"},
		{"dot", walkKey([]string{".png"}), "%2Epng"},
		{"dot-dot component", walkKey([]string{"..", "x.png"}), "%2E./x.png"},
		{"dot component", walkKey([]string{".", "x.png"}), "%2E/x.png"},
		{"hidden folder", walkKey([]string{".cache", "x.png"}), "%2Ecache/x.png"},
		{"dot inside is fine", walkKey([]string{"a.b", "c..png"}), "a.b/c..png"},
		{"index.html.png is not index.html", walkKey([]string{"index.html.png"}), "index.html.png"},
		{"results.jsonl.png", walkKey([]string{"results.jsonl.png"}), "results.jsonl.png"},
		{"index.html", walkKey([]string{"index.html"}), "index%2Ehtml"},
		{"index page 2, any case", walkKey([]string{"INDEX-2.HTML"}), "INDEX-2%2EHTML"},
		{"results.jsonl", walkKey([]string{"results.jsonl"}), "results%2Ejsonl"},
		{"shard results", walkKey([]string{"results-00001-of-00004.jsonl"}), "results-00001-of-00004%2Ejsonl"},
		{"tfrecord", walkKey([]string{"x.tfrecord"}), "x%2Etfrecord"},
		{"lock", walkKey([]string{"tfcam.lock"}), "tfcam%2Elock"},
		{"folder named like a root file", walkKey([]string{"index.html", "x.png"}), "index%2Ehtml/x.png"},
		{"reserved names below the root are fine", walkKey([]string{"a", "index.html"}), "a/index.html"},
		{"percent", walkKey([]string{"100%.png"}), "100%25.png"},
		{"escaped-looking name stays distinct", walkKey([]string{"%2E.png"}), "%252E.png"},
		{"newline", walkKey([]string{"a\nb.png"}), "a%0Ab.png"},
		{"carriage return and DEL", walkKey([]string{"a\r\x7f.png"}), "a%0D%7F.png"},
		{"backslash", walkKey([]string{`a\b.png`}), "a%5Cb.png"},
		{"not UTF-8", walkKey([]string{"caf\xe9.png"}), "caf%E9.png"},
		{"UTF-8 kept", walkKey([]string{"café 🐈.png"}), "café 🐈.png"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.key != c.want {
				t.Errorf("key %q, want %q", c.key, c.want)
			}
			if err := checkKey(c.key); err != nil {
				t.Errorf("checkKey: %v", err)
			}
			if !insideOut("/o/ut", c.key) {
				t.Errorf("outputDir(/o/ut, %q) = %s leaves --out", c.key, outputDir("/o/ut", c.key))
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
		if err := checkKey(key); err == nil {
			t.Errorf("checkKey(%q) = nil, want an error", key)
		}
	}
	for _, key := range []string{"x.jpg", "a/index.html", "index.html.png", "%2E..png", strings.Repeat("x", 255)} {
		if err := checkKey(key); err != nil {
			t.Errorf("checkKey(%q) = %v, want nil", key, err)
		}
	}
}

// insideOut reports whether outputDir(out, key) is a folder strictly
// inside out that is none of tfcam's root files, by the path alone.
func insideOut(out, key string) bool {
	dir := outputDir(out, key)
	rel, err := filepath.Rel(out, dir)
	if err != nil || !filepath.IsLocal(rel) || rel == "." {
		return false
	}
	first := strings.Split(filepath.ToSlash(rel), "/")[0]
	return !reservedRoot(first) && filepath.ToSlash(rel) == key
}

// FuzzOutputKey checks, for any path, that its key is safe (checkKey), its
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
		for _, key := range []string{fileKey(path), walkKey(parts)} {
			if len(parts) == 0 && key == walkKey(parts) {
				continue
			}
			if err := checkKey(key); err != nil {
				if strings.Contains(err.Error(), "bytes, over") {
					continue // too long: reported and skipped by expandInputs
				}
				t.Fatalf("key %q of %q: %v", key, path, err)
			}
			for _, out := range []string{"out", "/tmp/out", "."} {
				if !insideOut(out, key) {
					t.Fatalf("outputDir(%q, %q) = %q leaves --out or names a root file", out, key, outputDir(out, key))
				}
			}
			for _, c := range strings.Split(key, "/") {
				if c == ".." || c == "." || c == "" {
					t.Fatalf("key %q has component %q", key, c)
				}
			}
		}
		if fileKey(path) != fileKey(path) || walkKey(parts) != walkKey(parts) {
			t.Fatal("keys differ between calls")
		}
		if len(parts) > 0 {
			got, err := unescapeKey(walkKey(parts))
			if err != nil || !reflect.DeepEqual(got, parts) {
				t.Fatalf("unescapeKey(walkKey(%q)) = %q, %v", parts, got, err)
			}
		}
	})
}
