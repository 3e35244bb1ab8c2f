package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
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

// checkHTML checks what a parser would forgive: every non-void element is
// closed in order, and nothing loads from outside — the only scripts are
// the inline one and GalleryDataFile.
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
	for _, bad := range []string{"http://", "https://", "//cdn", "@import", "url("} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("%s contains %q: not self-contained", name, bad)
		}
	}
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1)
	if want := []string{`<script src="` + GalleryDataFile + `">`, "<script>"}; !slices.Equal(scripts, want) {
		t.Errorf("%s: scripts %q, want %q", name, scripts, want)
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
	if got := listAll(t, dir); strings.Join(got, ",") != GalleryDataFile+",index.html" {
		t.Fatalf("files = %q, want %s and index.html only", got, GalleryDataFile)
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
		{"score", "score 0.500"},
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
	if strings.Contains(page, `rel="next"`) || strings.Contains(page, `rel="prev"`) || !strings.Contains(page, `<nav class="pager"></nav>`) {
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
			if got := listAll(t, dir); strings.Join(got, ",") != strings.Join(sorted(append([]string{GalleryDataFile}, tt.pages...)), ",") {
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
	if err == nil || !strings.Contains(err.Error(), GalleryDataFile) {
		t.Fatalf("err = %v, want an error naming %s, the first file written", err, GalleryDataFile)
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

// parsePage parses a gallery page.
func parsePage(t *testing.T, page string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// findAll returns the elements under n (n included) that match, in
// document order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	return out
}

// elem matches elements by tag and, when given, class.
func elem(tag, class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return n.Data == tag && (class == "" || slices.Contains(strings.Fields(attr(n, "class")), class))
	}
}

// byID returns the element with the id, failing the test without one.
func byID(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	els := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == id })
	if len(els) != 1 {
		t.Fatalf("%d elements with id %q, want 1", len(els), id)
	}
	return els[0]
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text is n's text with runs of white space made one space.
func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// writePages writes g into a new folder and returns its pages, parsed, in
// page order.
func writePages(t *testing.T, g Gallery) []*html.Node {
	t.Helper()
	dir := t.TempDir()
	if err := g.Write(dir); err != nil {
		t.Fatal(err)
	}
	var docs []*html.Node
	for p := 1; ; p++ {
		b, err := os.ReadFile(filepath.Join(dir, pageName(p)))
		if errors.Is(err, os.ErrNotExist) {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		checkHTML(t, pageName(p), string(b))
		docs = append(docs, parsePage(t, string(b)))
	}
}

// hexColor is c's colour at v as the legend's gradient spells it.
func hexColor(c Colormap, v float32) string {
	k := c.Color(v)
	return fmt.Sprintf("#%02x%02x%02x", k.R, k.G, k.B)
}

func TestGalleryLegend(t *testing.T) {
	tests := []struct {
		name string
		cmap Colormap
		want Colormap // drawn
	}{
		{"jet", Jet, Jet},
		{"turbo", Turbo, Turbo},
		{"viridis", Viridis, Viridis},
		{"unset is jet", "", Jet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := writePages(t, Gallery{Title: "t", Images: galleryImages(3), Colormap: tt.cmap, PerPage: 1})
			if len(docs) != 3 {
				t.Fatalf("%d pages, want 3", len(docs))
			}
			for i, doc := range docs {
				legend := byID(t, doc, "legend")
				caption := text(legend)
				for _, want := range []string{"colormap " + string(tt.want), "low → high relevance", "min–max scaled to [0,1]"} {
					if !strings.Contains(caption, want) {
						t.Errorf("page %d: legend %q lacks %q", i+1, caption, want)
					}
				}
				var ticks []string
				for _, d := range findAll(legend, elem("div", "ticks")) {
					for _, s := range findAll(d, elem("span", "")) {
						ticks = append(ticks, text(s))
					}
				}
				if !slices.Equal(ticks, []string{"0", "0.5", "1"}) {
					t.Errorf("page %d: legend ticks %q, want 0, 0.5, 1", i+1, ticks)
				}
				bars := findAll(legend, elem("div", "bar"))
				if len(bars) != 1 {
					t.Fatalf("page %d: %d legend bars, want 1", i+1, len(bars))
				}
				// The bar runs from the colormap's 0 through its 0.5 to its
				// 1, left to right.
				style := attr(bars[0], "style")
				for _, want := range []string{
					"linear-gradient(to right," + hexColor(tt.want, 0) + " 0.00%,",
					hexColor(tt.want, 0.5) + " 50.00%,",
					hexColor(tt.want, 1) + " 100.00%)",
				} {
					if !strings.Contains(style, want) {
						t.Errorf("page %d: legend bar style %q lacks %q", i+1, style, want)
					}
				}
			}
		})
	}
}

func TestGalleryUnknownColormap(t *testing.T) {
	dir := t.TempDir()
	err := Gallery{Title: "t", Images: galleryImages(1), Colormap: "rainbow"}.Write(dir)
	if err == nil || !strings.Contains(err.Error(), `unknown colormap "rainbow"`) {
		t.Fatalf("err = %v, want an unknown colormap error", err)
	}
	if got := listAll(t, dir); len(got) != 0 {
		t.Errorf("files written despite the error: %q", got)
	}
}

// classImages returns n images explaining each of classes with each of
// methods; the maps are listed method by method, so grouping them into rows
// is the gallery's work.
func classImages(n int, classes, methods []string) []GalleryImage {
	ims := galleryImages(n)
	for i := range ims {
		ims[i].Maps = nil
		for _, m := range methods {
			for k, c := range classes {
				ims[i].Maps = append(ims[i].Maps, GalleryMap{Method: m, Class: c, Score: float32(k) + 0.5, ScoreName: "logit",
					Overlay: fmt.Sprintf("%s/%s-%d.jpg", m, ims[i].Input, k)})
			}
		}
	}
	return ims
}

func TestGalleryClassRows(t *testing.T) {
	tests := []struct {
		name     string
		images   int
		perPage  int
		classes  []string
		methods  []string
		perFile  []int // images on each page
		wantRows []int // rows on each page: classes × images
	}{
		{"top1, one method", 2, 10, []string{"tabby (281)"}, []string{"gradcam"}, []int{2}, []int{2}},
		{"top1, two methods", 2, 10, []string{"tabby (281)"}, []string{"gradcam", "layercam"}, []int{2}, []int{2}},
		{"top3, two methods", 3, 10, []string{"tabby (281)", "tiger cat (282)", "lynx (287)"}, []string{"gradcam", "layercam"}, []int{3}, []int{9}},
		{"top2 over pages", 5, 2, []string{"tabby (281)", "tiger cat (282)"}, []string{"gradcam++"}, []int{2, 2, 1}, []int{4, 4, 2}},
		{"no maps", 2, 10, nil, []string{"gradcam"}, []int{2}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := writePages(t, Gallery{Title: "t", Images: classImages(tt.images, tt.classes, tt.methods), PerPage: tt.perPage})
			if len(docs) != len(tt.perFile) {
				t.Fatalf("%d pages, want %d", len(docs), len(tt.perFile))
			}
			for p, doc := range docs {
				sections := findAll(byID(t, doc, "images"), elem("section", ""))
				if len(sections) != tt.perFile[p] {
					t.Fatalf("page %d: %d images, want %d", p+1, len(sections), tt.perFile[p])
				}
				rows := 0
				for _, s := range sections {
					got := findAll(s, elem("div", "class-row"))
					rows += len(got)
					if len(got) != len(tt.classes) {
						t.Errorf("page %d, %s: %d rows, want one per class (%d)", p+1, attr(s, "id"), len(got), len(tt.classes))
						continue
					}
					for k, row := range got {
						h3 := findAll(row, elem("h3", ""))
						if len(h3) != 1 || !strings.HasPrefix(text(h3[0]), tt.classes[k]+" · logit ") {
							t.Errorf("page %d, %s: row %d is not captioned with %q and its score", p+1, attr(s, "id"), k+1, tt.classes[k])
						}
						tiles := findAll(row, elem("figure", "tile"))
						var methods []string
						for _, tile := range tiles {
							methods = append(methods, text(findAll(tile, elem("figcaption", ""))[0]))
							if alt := attr(findAll(tile, elem("img", ""))[0], "alt"); !strings.HasSuffix(alt, "for class "+tt.classes[k]) {
								t.Errorf("page %d, %s: row of %q holds a tile of another class (%q)", p+1, attr(s, "id"), tt.classes[k], alt)
							}
						}
						if !slices.Equal(methods, tt.methods) {
							t.Errorf("page %d, %s: row %d has tiles %q, want one per method %q", p+1, attr(s, "id"), k+1, methods, tt.methods)
						}
					}
				}
				if rows != tt.wantRows[p] {
					t.Errorf("page %d: %d class rows, want %d (classes × images)", p+1, rows, tt.wantRows[p])
				}
			}
		})
	}
}

// scoreRE matches a decimal number, with the name before it if it has one.
var scoreRE = regexp.MustCompile(`(?:(probability|logit|model output|target score|score) )?[-+]?[0-9]*\.[0-9]+`)

func TestGalleryScoreLabels(t *testing.T) {
	tests := []struct {
		name            string
		predictionScore string
		mapScore        string
		mapValue        float32
		wantPredictions []string
		wantRow         string // "": no score in the row's caption
	}{
		{"probabilities", "probability", "probability", 0.87, []string{"probability 0.870", "probability 0.120"}, "probability 0.870"},
		{"model output and logits", "model output", "logit", 4.2, []string{"model output 0.870", "model output 0.120"}, "logit 4.200"},
		{"negative logit", "model output", "logit", -4.25, []string{"model output 0.870", "model output 0.120"}, "logit -4.250"},
		{"target scores", "target score", "target score", 0.93, []string{"target score 0.870", "target score 0.120"}, "target score 0.930"},
		{"unnamed", "", "", 4.2, []string{"score 0.870", "score 0.120"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := GalleryImage{
				Input:           "cat.jpg",
				Predictions:     []GalleryPrediction{{"tabby", 0.87}, {"lynx", 0.12}},
				PredictionScore: tt.predictionScore,
				Maps: []GalleryMap{
					{Method: "gradcam", Class: "tabby", Score: tt.mapValue, ScoreName: tt.mapScore, Overlay: "a.jpg"},
					{Method: "layercam", Class: "tabby", Score: tt.mapValue, ScoreName: tt.mapScore, Overlay: "b.jpg"},
				},
			}
			doc := writePages(t, Gallery{Title: "t", Images: []GalleryImage{im}})[0]
			main := byID(t, doc, "images")
			var preds []string
			for _, li := range findAll(main, elem("li", "")) {
				preds = append(preds, text(findAll(li, elem("span", "score"))[0]))
			}
			if !slices.Equal(preds, tt.wantPredictions) {
				t.Errorf("prediction scores %q, want %q", preds, tt.wantPredictions)
			}
			h3 := findAll(main, elem("h3", ""))
			if len(h3) != 1 {
				t.Fatalf("%d row captions, want 1", len(h3))
			}
			row := ""
			if s := findAll(h3[0], elem("span", "score")); len(s) > 0 {
				row = text(s[0])
			}
			if row != tt.wantRow {
				t.Errorf("row score %q, want %q", row, tt.wantRow)
			}
			for d := range main.Descendants() {
				if d.Type != html.TextNode {
					continue
				}
				for _, m := range scoreRE.FindAllStringSubmatch(d.Data, -1) {
					if m[1] == "" {
						t.Errorf("unlabelled number %q in %q", m[0], text(d.Parent))
					}
				}
			}
		})
	}
}

func TestGalleryControls(t *testing.T) {
	ims := galleryImages(5)
	ims[3].Maps[1].Flat = true
	ims[4].Maps, ims[4].Predictions, ims[4].Original, ims[4].Failed = nil, nil, "", "image data is truncated"
	docs := writePages(t, Gallery{Title: "t", Images: ims, PerPage: 2})
	if len(docs) != 3 {
		t.Fatalf("%d pages, want 3", len(docs))
	}
	options := func(sel *html.Node) (values, texts []string) {
		for _, o := range findAll(sel, elem("option", "")) {
			values, texts = append(values, attr(o, "value")), append(texts, text(o))
		}
		return values, texts
	}
	tests := []struct {
		name  string
		check func(t *testing.T, doc *html.Node)
	}{
		{"controls form", func(t *testing.T, doc *html.Node) {
			if form := byID(t, doc, "controls"); form.Data != "form" {
				t.Errorf("#controls is a %s, want a form", form.Data)
			}
		}},
		{"sort by name and confidence both ways", func(t *testing.T, doc *html.Node) {
			values, texts := options(byID(t, doc, "sort"))
			if !slices.Equal(values, []string{"name", "conf-desc", "conf-asc"}) {
				t.Errorf("sort options %q", values)
			}
			if !strings.Contains(texts[1], "confidence") || !strings.Contains(texts[1], "highest first") || !strings.Contains(texts[2], "lowest first") {
				t.Errorf("sort options read %q", texts)
			}
		}},
		{"filter all, flat and failed, with counts", func(t *testing.T, doc *html.Node) {
			values, texts := options(byID(t, doc, "show"))
			if !slices.Equal(values, []string{"all", "flat", "failed"}) {
				t.Errorf("show options %q", values)
			}
			if !slices.Equal(texts, []string{"all images (5)", "images with a flat map (1)", "inputs that failed (1)"}) {
				t.Errorf("show options read %q", texts)
			}
		}},
		{"data script and inline script", func(t *testing.T, doc *html.Node) {
			var srcs []string
			inline := ""
			for _, s := range findAll(doc, elem("script", "")) {
				if src := attr(s, "src"); src != "" {
					srcs = append(srcs, src)
				} else {
					inline += text(s)
				}
			}
			if !slices.Equal(srcs, []string{GalleryDataFile}) {
				t.Errorf("scripts loaded %q, want only %q", srcs, GalleryDataFile)
			}
			for _, want := range []string{"window.tfcamGallery", `getElementById("sort")`, `getElementById("show")`, "hashchange", "perPage", "nav.pager"} {
				if !strings.Contains(inline, want) {
					t.Errorf("inline script lacks %s", want)
				}
			}
		}},
		{"pagers for the script", func(t *testing.T, doc *html.Node) {
			if n := len(findAll(doc, elem("nav", "pager"))); n != 2 {
				t.Errorf("%d nav.pager, want 2", n)
			}
		}},
		{"summary and images for the script", func(t *testing.T, doc *html.Node) {
			byID(t, doc, "summary")
			if main := byID(t, doc, "images"); main.Data != "main" {
				t.Errorf("#images is a %s, want main", main.Data)
			}
		}},
	}
	for p, doc := range docs {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("page %d/%s", p+1, tt.name), func(t *testing.T) { tt.check(t, doc) })
		}
	}
	t.Run("flat map marked", func(t *testing.T) {
		flat := findAll(docs[1], elem("figure", "flat"))
		if len(flat) != 1 || !strings.Contains(text(flat[0]), "eigencam · flat map") {
			t.Errorf("flat tiles on page 2: %d, want 1 marked flat", len(flat))
		}
	})
}

func TestGalleryData(t *testing.T) {
	ims := galleryImages(5)
	ims[1].Predictions = nil
	ims[2].Predictions[0].Score = float32(math.NaN())
	ims[3].Maps[0].Flat = true
	ims[4].Predictions[0].Score = -2.5
	tests := []struct {
		n    int
		conf any // as decoded: float64, or nil
		flat bool
	}{
		{1, 0.8123, false},
		{2, nil, false}, // no prediction
		{3, nil, false}, // NaN
		{4, 0.8123, true},
		{5, -2.5, false},
	}
	dir := t.TempDir()
	if err := (Gallery{Title: "t", Images: ims, PerPage: 2}).Write(dir); err != nil {
		t.Fatal(err)
	}
	script := readFile(t, filepath.Join(dir, GalleryDataFile))
	body, ok := strings.CutPrefix(script, "window.tfcamGallery = ")
	if !ok {
		t.Fatalf("%s does not set window.tfcamGallery: %.40q", GalleryDataFile, script)
	}
	var data struct {
		PerPage int `json:"perPage"`
		Images  []struct {
			N    int    `json:"n"`
			Name string `json:"name"`
			Conf any    `json:"conf"`
			Flat bool   `json:"flat"`
			HTML string `json:"html"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(body), &data); err != nil {
		t.Fatalf("%s: %v", GalleryDataFile, err)
	}
	if data.PerPage != 2 || len(data.Images) != len(tests) {
		t.Fatalf("perPage %d, %d images; want 2, %d", data.PerPage, len(data.Images), len(tests))
	}
	if strings.Contains(script, "<") {
		t.Errorf("%s holds a raw '<': a section could end its script", GalleryDataFile)
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			im := data.Images[i]
			if im.N != tt.n || im.Name != ims[i].Input {
				t.Errorf("image %d is n %d %q, want %d %q", i, im.N, im.Name, tt.n, ims[i].Input)
			}
			if c, ok := im.Conf.(float64); tt.conf == nil && im.Conf != nil || tt.conf != nil && (!ok || math.Abs(c-tt.conf.(float64)) > 1e-6) {
				t.Errorf("conf %v, want %v", im.Conf, tt.conf)
			}
			if im.Flat != tt.flat {
				t.Errorf("flat %v, want %v", im.Flat, tt.flat)
			}
			// The section is the one on the image's page, byte for byte.
			page := readFile(t, filepath.Join(dir, pageName(i/2+1)))
			if !strings.HasPrefix(im.HTML, fmt.Sprintf(`<section id="image-%d">`, tt.n)) || !strings.Contains(page, im.HTML) {
				t.Errorf("section of image %d is not the one on page %d", tt.n, i/2+1)
			}
		})
	}
}

// TestGalleryLegendPerKind: a page has the legend of each kind of map it
// shows — the colormap for heatmaps, the gray ramp for pixel gradients,
// the two colours around zero for signed attributions — and no other.
func TestGalleryLegendPerKind(t *testing.T) {
	ids := []string{"legend", "legend-gradient", "legend-signed"}
	for _, tc := range []struct {
		name  string
		kinds []string
		want  []bool // per id
	}{
		{"heatmaps only", []string{""}, []bool{true, false, false}},
		{"gradients only", []string{"gradient"}, []bool{false, true, false}},
		{"signed and heatmaps", []string{"signed", ""}, []bool{true, false, true}},
		{"all three", []string{"gradient", "signed", ""}, []bool{true, true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im := galleryImages(1)[0]
			im.Maps = nil
			for i, k := range tc.kinds {
				im.Maps = append(im.Maps, GalleryMap{Method: fmt.Sprintf("m%d", i), Class: "tabby cat", Kind: k, Overlay: fmt.Sprintf("m%d.jpg", i)})
			}
			doc := writePages(t, Gallery{Title: "t", Images: []GalleryImage{im}})[0]
			for i, id := range ids {
				n := len(findAll(doc, func(n *html.Node) bool { return attr(n, "id") == id }))
				if (n == 1) != tc.want[i] || n > 1 {
					t.Errorf("%d elements #%s, want %v", n, id, tc.want[i])
				}
			}
			if tc.want[2] {
				caption := text(byID(t, doc, "legend-signed"))
				for _, w := range []string{"red for the explained class", "blue against"} {
					if !strings.Contains(caption, w) {
						t.Errorf("signed legend %q lacks %q", caption, w)
					}
				}
			}
		})
	}
}
