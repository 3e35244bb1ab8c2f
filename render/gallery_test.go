package render

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// galleryImages returns n images with two maps each.
func galleryImages(n int) []GalleryImage {
	ims := make([]GalleryImage, n)
	for i := range ims {
		name := fmt.Sprintf("img%03d.jpg", i)
		ims[i] = GalleryImage{
			Input:       name,
			Original:    "orig/" + name,
			Predictions: []GalleryPrediction{{"tabby cat", 0.8123}, {"tiger cat", 0.1}},
			Maps: []GalleryMap{
				{Method: "gradcam", Class: "tabby cat", Overlay: "gradcam/" + name + ".png"},
				{Method: "eigencam", Class: "tabby cat", Overlay: "eigencam/" + name + ".png"},
			},
		}
	}
	return ims
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var tagRE = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>`)

// checkHTML is a small stand-in for an HTML parser (golang.org/x/net is not
// a dependency): every non-void element is closed in order, nothing loads
// from outside, and there is no script.
func checkHTML(t *testing.T, name, page string) {
	t.Helper()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Errorf("%s: no doctype", name)
	}
	void := map[string]bool{"meta": true, "img": true, "br": true, "hr": true, "link": true, "input": true}
	var stack []string
	for _, m := range tagRE.FindAllStringSubmatch(page, -1) {
		tag := strings.ToLower(m[2])
		switch {
		case void[tag]:
		case m[1] == "":
			stack = append(stack, tag)
		case len(stack) == 0 || stack[len(stack)-1] != tag:
			t.Fatalf("%s: </%s> does not close %v", name, tag, stack)
		default:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Errorf("%s: unclosed %v", name, stack)
	}
	for _, bad := range []string{"<script", "http://", "https://", "//cdn", "@import", "url("} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("%s contains %q: not self-contained", name, bad)
		}
	}
}

func TestWriteGalleryContent(t *testing.T) {
	ims := []GalleryImage{
		{
			Input:       `<script>alert("x")</script>.jpg`,
			Original:    "in/<script>.jpg",
			Predictions: []GalleryPrediction{{"<b>cat</b> & dog", 0.5}, {"owl", 0.25}},
			Maps:        []GalleryMap{{Method: "gradcam", Class: `"quoted" class`, Overlay: "out/a b#1?.png"}},
		},
		{
			Input:    "colon.jpg",
			Original: "c:olon.jpg",
			Maps: []GalleryMap{
				{Method: "layercam", Class: "x", Overlay: "javascript:alert(1)"},
				{Method: "hirescam", Class: "y"},
				{Method: "eigencam", Class: "z", Overlay: "//evil.example/y.png"},
				{Method: "gradcam++", Class: "w", Overlay: `\\evil.example\z.png`},
			},
		},
		{
			Input:    "external.jpg",
			Original: "https://example.com/x.jpg",
		},
	}
	dir := t.TempDir()
	if err := WriteGallery(dir, "Run <1> & co", ims, 10); err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, dir); strings.Join(got, ",") != "index.html" {
		t.Fatalf("files = %q, want index.html only", got)
	}
	page := readFile(t, filepath.Join(dir, "index.html"))
	checkHTML(t, "index.html", page)

	tests := []struct {
		name string
		want string
	}{
		{"escaped title", "<title>Run &lt;1&gt; &amp; co</title>"},
		{"escaped script name", "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;.jpg"},
		{"escaped label", "&lt;b&gt;cat&lt;/b&gt; &amp; dog"},
		{"score", "0.500"},
		{"escaped class", "&#34;quoted&#34; class"},
		{"method", "<b>gradcam</b>"},
		{"original path escaped", `src="in/%3Cscript%3E.jpg"`},
		{"space, # and ? escaped", `src="out/a%20b%231%3F.png"`},
		{"colon not a scheme", `src="./c:olon.jpg"`},
		{"javascript: not a scheme", `src="./javascript:alert%281%29"`},
		{"external URL made relative", `src="./https:/example.com/x.jpg"`},
		{"protocol-relative URL made a path", `href="/evil.example/y.png"`},
		{"backslashes escaped", `href="%5C%5Cevil.example%5Cz.png"`},
		{"missing overlay", `<div class="missing">no image</div>`},
		{"lazy", `loading="lazy"`},
		{"count", "3 images"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(page, tt.want) {
				t.Errorf("index.html lacks %s", tt.want)
			}
		})
	}
	if n := strings.Count(page, "<img "); n != 7 {
		t.Errorf("%d img tags, want 7 (3 originals and 4 overlays)", n)
	}
	if n := strings.Count(page, `loading="lazy"`); n != 7 {
		t.Errorf("%d lazy images, want 7", n)
	}
	if strings.Contains(page, "<nav>") {
		t.Error("single page has navigation")
	}
}

func TestWriteGalleryPages(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		perPage int
		pages   []string
		perFile []int
	}{
		{"5 by 2", 5, 2, []string{"index.html", "index-2.html", "index-3.html"}, []int{2, 2, 1}},
		{"4 by 2", 4, 2, []string{"index.html", "index-2.html"}, []int{2, 2}},
		{"exactly one page", 3, 3, []string{"index.html"}, []int{3}},
		{"empty", 0, 2, []string{"index.html"}, []int{0}},
		{"default page size", DefaultPerPage + 1, 0, []string{"index.html", "index-2.html"}, []int{DefaultPerPage, 1}},
		{"one per page", 3, 1, []string{"index.html", "index-2.html", "index-3.html"}, []int{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "gallery")
			ims := galleryImages(tt.n)
			if err := WriteGallery(dir, "test", ims, tt.perPage); err != nil {
				t.Fatal(err)
			}
			if got := listAll(t, dir); strings.Join(got, ",") != strings.Join(sorted(tt.pages), ",") {
				t.Fatalf("files = %q, want %q", got, tt.pages)
			}
			next := 0 // index of the next image expected
			for i, name := range tt.pages {
				page := readFile(t, filepath.Join(dir, name))
				checkHTML(t, name, page)
				if got := strings.Count(page, "<section "); got != tt.perFile[i] {
					t.Errorf("%s: %d images, want %d", name, got, tt.perFile[i])
				}
				for range tt.perFile[i] {
					if want := ">" + fmt.Sprint(next+1) + ". " + ims[next].Input + "<"; !strings.Contains(page, want) {
						t.Errorf("%s lacks image %d (%s)", name, next+1, ims[next].Input)
					}
					next++
				}
				if tt.n == 0 && !strings.Contains(page, "No images.") {
					t.Errorf("%s: empty gallery does not say so", name)
				}
				multi := len(tt.pages) > 1
				hasPrev := strings.Contains(page, `rel="prev"`)
				hasNext := strings.Contains(page, `rel="next"`)
				if hasPrev != (multi && i > 0) || hasNext != (multi && i < len(tt.pages)-1) {
					t.Errorf("%s: prev %v next %v, wrong for page %d of %d", name, hasPrev, hasNext, i+1, len(tt.pages))
				}
				if multi && i > 0 && !strings.Contains(page, `href="`+tt.pages[i-1]+`" rel="prev"`) {
					t.Errorf("%s: previous link does not point at %s", name, tt.pages[i-1])
				}
				if multi && i < len(tt.pages)-1 && !strings.Contains(page, `href="`+tt.pages[i+1]+`" rel="next"`) {
					t.Errorf("%s: next link does not point at %s", name, tt.pages[i+1])
				}
				if multi && !strings.Contains(page, fmt.Sprintf("page %d of %d", i+1, len(tt.pages))) {
					t.Errorf("%s: no page number", name)
				}
			}
			if next != tt.n {
				t.Errorf("%d images shown, want %d", next, tt.n)
			}
		})
	}
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func TestWriteGalleryErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteGallery(filepath.Join(file, "gallery"), "t", galleryImages(1), 10)
	if err == nil || !strings.Contains(err.Error(), "index.html") {
		t.Fatalf("err = %v, want an error naming index.html", err)
	}
}

func BenchmarkWriteGallery(b *testing.B) {
	ims := galleryImages(10000)
	dir := b.TempDir()
	for b.Loop() {
		if err := WriteGallery(dir, "bench", ims, 100); err != nil {
			b.Fatal(err)
		}
	}
}
