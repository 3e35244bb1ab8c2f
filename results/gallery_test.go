package results

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/tfcam/tfcam/render"
)

// writeLines writes recs as a results file of out, then tail (a line cut
// short, say).
func writeLines(t *testing.T, out, name string, tail string, recs ...Record) {
	t.Helper()
	var b strings.Builder
	for _, r := range recs {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteString(tail)
	if err := os.WriteFile(filepath.Join(out, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// galleryNodes returns the elements of the page that match, in document
// order.
func galleryNodes(doc *html.Node, match func(n *html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range doc.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	return out
}

func hasClass(n *html.Node, class string) bool {
	for _, a := range n.Attr {
		if a.Key == "class" && slices.Contains(strings.Fields(a.Val), class) {
			return true
		}
	}
	return false
}

func nodeText(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// TestWriteGallery: every shard's lines become the gallery, one row per
// explained class, scores named by the lines, flat maps marked, the legend
// drawn in the colormap it is given; the run's failed inputs are entries
// saying why, in name order with the rest, counted by the failed filter.
func TestWriteGallery(t *testing.T) {
	out := t.TempDir()
	top2 := Record{Input: "b/cat.jpg", Original: "b/cat.jpg/original.jpg", PredictionScore: "model output", MapScore: "logit",
		Predictions: []Prediction{{281, "tabby", 0.87}, {282, "tiger cat", 0.1}},
		Maps: []Map{
			{Explanation: Explanation{Method: "gradcam", Class: 281, Label: "tabby", Rank: 0, Score: 9.5}, Overlay: "b/cat.jpg/gradcam-top1.jpg"},
			{Explanation: Explanation{Method: "layercam", Class: 281, Label: "tabby", Rank: 0, Score: 9.5}, Overlay: "b/cat.jpg/layercam-top1.jpg"},
			{Explanation: Explanation{Method: "gradcam", Class: 282, Label: "tiger cat", Rank: 1, Score: 4.25}, Overlay: "b/cat.jpg/gradcam-top2.jpg", Flat: true},
			{Explanation: Explanation{Method: "layercam", Class: 282, Label: "tiger cat", Rank: 1, Score: 4.25}, Overlay: "b/cat.jpg/layercam-top2.jpg"},
		}}
	// A line from before prediction_score and map_score, and a map
	// without an overlay (--save map16).
	old := Record{Input: "a/dog.jpg", Original: "a/dog.jpg/original.jpg",
		Predictions: []Prediction{{207, "golden retriever", 0.5}},
		Maps: []Map{
			{Explanation: Explanation{Method: "gradcam", Class: 207, Label: "golden retriever", Score: 3}, Overlay: "a/dog.jpg/gradcam.jpg"},
			{Explanation: Explanation{Method: "eigencam", Class: 207, Label: "golden retriever", Score: 3}},
		}}
	writeLines(t, out, "results-00000-of-00002.jsonl", `{"input":"cut`, top2)
	writeLines(t, out, "results-00001-of-00002.jsonl", "", old)
	failed := []Failure{{Input: "a/broken.jpg", Reason: "image data is truncated"}}
	if err := WriteGallery(out, "run", render.Turbo, failed); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	sections := galleryNodes(doc, func(n *html.Node) bool { return n.Data == "section" })
	var rows [][]string // per image, its rows' captions
	for _, s := range sections {
		var caps []string
		for _, r := range galleryNodes(s, func(n *html.Node) bool { return hasClass(n, "class-row") }) {
			caps = append(caps, nodeText(galleryNodes(r, func(n *html.Node) bool { return n.Data == "h3" })[0]))
		}
		rows = append(rows, caps)
	}
	var scores, flat []string
	for _, n := range galleryNodes(doc, func(n *html.Node) bool { return hasClass(n, "score") }) {
		scores = append(scores, nodeText(n))
	}
	for _, n := range galleryNodes(doc, func(n *html.Node) bool { return hasClass(n, "flat") }) {
		flat = append(flat, nodeText(n))
	}
	legend := galleryNodes(doc, func(n *html.Node) bool { return hasClass(n, "legend") })
	var failedTags []string
	for _, n := range galleryNodes(doc, func(n *html.Node) bool { return hasClass(n, "failed-tag") }) {
		failedTags = append(failedTags, nodeText(n))
	}
	var headings []string
	for _, n := range galleryNodes(doc, func(n *html.Node) bool { return n.Data == "h2" }) {
		headings = append(headings, nodeText(n))
	}

	tests := []struct {
		name      string
		got, want any
	}{
		{"images sorted by input, cut line skipped, failed input listed", headings, []string{"1. a/broken.jpg", "2. a/dog.jpg", "3. b/cat.jpg"}},
		{"failed input says why", failedTags, []string{"failed: image data is truncated"}},
		{"failed filter counts it", strings.Contains(string(b), "inputs that failed (1)"), true},
		{"one row per class", rows, [][]string{
			nil,
			{"golden retriever (207) · score 3.000"},
			{"tabby (281) · logit 9.500", "tiger cat (282) · logit 4.250"},
		}},
		{"scores named", scores, []string{"score 0.500", "score 3.000", "model output 0.870", "model output 0.100", "logit 9.500", "logit 4.250"}},
		{"flat map marked", flat, []string{"gradcam · flat map: no signal"}},
		{"legend in the given colormap", len(legend) == 1 && strings.Contains(nodeText(legend[0]), "colormap turbo"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := json.Marshal(tt.got)
			w, _ := json.Marshal(tt.want)
			if string(g) != string(w) {
				t.Errorf("got %s, want %s", g, w)
			}
		})
	}
}
