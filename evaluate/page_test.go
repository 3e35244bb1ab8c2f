package evaluate

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/render"
	"golang.org/x/net/html"
)

// pageReport is a small report: three methods with curves, one flagged.
func pageReport() *Report {
	mk := func(m string, drop, ins float64, passes int, flags ...string) Summary {
		return Summary{Method: m, Images: 2, AverageDrop: drop, IncreaseInConfidence: 50, DeletionAUC: 0.3, InsertionAUC: ins,
			Deletion: []float64{0.9, 0.4, 0.1}, Insertion: []float64{0.1, ins, 0.9}, Sparseness: 0.4, Complexity: 5, Passes: passes, Flags: flags}
	}
	return &Report{
		Settings:  Settings{Model: "models/<m>", Layer: "conv", Class: "top1", Steps: 2, Baseline: "zero"},
		Fractions: Fractions(2), Counts: []int{0, 8, 16},
		Methods: []Summary{mk("gradcam", 20, 0.6, 1), mk("scorecam", 10, 0.7, 65),
			mk("randomcam", 5, 0.8, 1, "its maps do not change when the model's weights are randomised")},
	}
}

func tinyPNG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWriteHTML: the page parses as HTML, names every method in the table
// with the recommendation above it, escapes text, and refers to nothing
// outside itself (every image a data: URI, no scripts or stylesheets).
func TestWriteHTML(t *testing.T) {
	r := pageReport()
	img := tinyPNG(t)
	ex := []Example{{Image: "<b>cat</b>.png", Original: img, Maps: []ExampleMap{{"gradcam", "tabby", img, render.StyleHeat}, {"integrated-gradients", "tabby", img, render.StyleSigned}}}}
	var b bytes.Buffer
	if err := r.WriteHTML(&b, ex); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	var rec string
	imgs := 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "link", "iframe", "object":
				t.Errorf("page has a <%s>", n.Data)
			case "img":
				imgs++
				if src := attr(n, "src"); !strings.HasPrefix(src, "data:image/png;base64,") {
					t.Errorf("img src %.40q is not an embedded PNG", src)
				}
			case "section":
				if attr(n, "id") == "recommendation" {
					rec = text(n)
				}
			case "tr":
				var cells []string
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.ElementNode && c.Data == "td" {
						cells = append(cells, text(c))
					}
				}
				if cells != nil {
					rows = append(rows, cells)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	// randomcam is best on every perturbation metric but flagged:
	// drop ↓ randomcam 1, scorecam 2, gradcam 3; insertion ↑ the same;
	// incr conf and deletion AUC tie (2 each). Means: randomcam 1.5,
	// scorecam 2, gradcam 2.5 → scorecam; gradcam is 65× cheaper but
	// 0.5 behind, within one place.
	want := [][]string{
		{"gradcam", "1", "2.50", "20.0 (3)", "50.0 (2)", "0.3000 (2)", "0.6000 (3)", "0.4000 (2)", "5.0000 (2)", ""},
		{"scorecam", "65", "2.00", "10.0 (2)", "50.0 (2)", "0.3000 (2)", "0.7000 (2)", "0.4000 (2)", "5.0000 (2)", ""},
		{"randomcam", "1", "1.50", "5.0 (1)", "50.0 (2)", "0.3000 (2)", "0.8000 (1)", "0.4000 (2)", "5.0000 (2)", "its maps do not change when the model's weights are randomised"},
	}
	if len(rows) != len(want) {
		t.Fatalf("table rows %q", rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d:\n got %q\nwant %q", i, rows[i], want[i])
		}
	}
	for _, s := range []string{"Trust scorecam", "gradcam is nearly as good (mean rank 2.50) at 1 forward pass per image instead of 65", "Do not trust randomcam"} {
		if !strings.Contains(rec, s) {
			t.Errorf("recommendation %q lacks %q", rec, s)
		}
	}
	// 3 plots (deletion, insertion, scores) and 1 original + 2 maps.
	if imgs != 6 {
		t.Errorf("%d images, want 6", imgs)
	}
	// Each example says how it is drawn.
	for _, s := range []string{"heatmap: low → high", "signed: red for the class, blue against"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("examples' captions lack %q", s)
		}
	}
	if s := b.String(); strings.Contains(s, "<b>cat") || !strings.Contains(s, "&lt;b&gt;cat") || !strings.Contains(s, "models/&lt;m&gt;") {
		t.Error("text is not escaped")
	}
}

// TestWriteMarkdown: the same table and recommendation as Markdown.
func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := pageReport().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, w := range []string{
		"| method | passes/image | mean rank | avg drop %↓ |",
		"| **scorecam** | 65 | 2.00 | 10.0 (2) |",
		"| randomcam | 1 | 1.50 | 5.0 (1) |",
		"**Recommendation.** Trust scorecam",
		"- Only 2 images: ranks this close are within noise",
	} {
		if !strings.Contains(s, w) {
			t.Errorf("markdown lacks %q:\n%s", w, s)
		}
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}
