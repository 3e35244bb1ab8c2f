package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/tfcam/tfcam/internal/fixture"
)

// htmlPage is what the report tests read from report.html.
type htmlPage struct {
	rows   [][]string // the methods table's cells, row by row
	rec    string     // the recommendation section's text
	images []string   // every img's src
	text   string     // all text
}

func readHTMLPage(t *testing.T, path string) htmlPage {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s does not parse as HTML: %v", path, err)
	}
	var p htmlPage
	var texts func(n *html.Node) string
	texts = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(texts(c))
		}
		return b.String()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				switch {
				case n.Data == "img" && a.Key == "src":
					p.images = append(p.images, a.Val)
				case n.Data == "section" && a.Key == "id" && a.Val == "recommendation":
					p.rec = strings.TrimSpace(texts(n))
				}
			}
			if n.Data == "script" || n.Data == "link" {
				t.Errorf("%s has a <%s>: not self-contained", path, n.Data)
			}
			if n.Data == "tr" {
				var cells []string
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.ElementNode && c.Data == "td" {
						cells = append(cells, strings.TrimSpace(texts(c)))
					}
				}
				if cells != nil {
					p.rows = append(p.rows, cells)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	p.text = texts(doc)
	return p
}

// TestEvalReport: --out writes report.html, a page that parses as HTML,
// has a table row per method with its passes per image (the explainer's
// declared cost + 1; Score-CAM masks one copy per channel of the shapes
// model's last layer, which has 64), a recommendation naming one of them,
// the three plots and the first 3 images' overlays, drawn and captioned by
// map kind (gradient × input signed), all embedded; and
// report.md with the same rows.
func TestEvalReport(t *testing.T) {
	dir := t.TempDir()
	rows := shapesEvalSubset(t, dir, 4)
	os.WriteFile(filepath.Join(dir, "boxes.csv"), []byte("image,x0,y0,x1,y1\n"+strings.Join(rows, "\n")+"\n"), 0o644)
	o := evalOpts()
	o.methods, o.road, o.sensN = "gradcam,scorecam,randomcam,gradient-input", "none", 0
	o.boxes, o.out = filepath.Join(dir, "boxes.csv"), filepath.Join(dir, "out")
	var stdout, log bytes.Buffer
	if err := evalRun(context.Background(), o, []string{filepath.Join(dir, "imgs")}, nil, &stdout, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	p := readHTMLPage(t, filepath.Join(o.out, "report.html"))
	methods := []string{"gradcam", "scorecam", "randomcam", "gradient-input"}
	passes := map[string]string{"gradcam": "1", "scorecam": "65", "randomcam": "1", "gradient-input": "2"}
	if len(p.rows) != len(methods) {
		t.Fatalf("table rows %q, want one per method %v", p.rows, methods)
	}
	for i, m := range methods {
		// method, passes/image, mean rank, then 8 metrics (pointing,
		// energy, drop, incr, deletion, insertion, sparseness,
		// complexity) and the flags.
		if r := p.rows[i]; r[0] != m || r[1] != passes[m] || len(r) != 3+8+1 {
			t.Errorf("row %d: %q, want %s with %s passes and 8 metrics", i, r, m, passes[m])
		}
	}
	recommended := ""
	for _, m := range methods {
		if strings.HasPrefix(p.rec, "Recommendation\nTrust "+m+" ") {
			recommended = m
		}
	}
	if recommended == "" {
		t.Errorf("recommendation %q names none of %v", p.rec, methods)
	}
	if want := 3 + 3*(1+len(methods)); len(p.images) != want {
		t.Errorf("%d images, want %d (3 plots, 3 images with their %d overlays)", len(p.images), want, len(methods))
	}
	for _, src := range p.images {
		if !strings.HasPrefix(src, "data:image/png;base64,") && !strings.HasPrefix(src, "data:image/jpeg;base64,") {
			t.Errorf("image %.40q is not embedded", src)
		}
	}
	if !strings.Contains(p.text, "000.png") || !strings.Contains(p.text, "002.png") || strings.Contains(p.text, "003.png") {
		t.Error("examples are not the first 3 images")
	}
	// The examples are drawn by kind, as tfcam explain draws them, and
	// say so: gradient × input is a signed attribution.
	if n := strings.Count(p.text, "signed: red for the class, blue against"); n != 3 {
		t.Errorf("%d examples captioned as signed, want 3 (gradient-input's)", n)
	}
	if n := strings.Count(p.text, "heatmap: low → high"); n != 9 {
		t.Errorf("%d examples captioned as heatmaps, want 9", n)
	}
	md, err := os.ReadFile(filepath.Join(o.out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range methods {
		if !strings.Contains(string(md), "| "+m+" | "+passes[m]+" |") && !strings.Contains(string(md), "| **"+m+"** | "+passes[m]+" |") {
			t.Errorf("report.md lacks %s's row:\n%s", m, md)
		}
	}
	if !strings.Contains(log.String(), "Trust "+recommended) {
		t.Errorf("log lacks the recommendation:\n%s", log.String())
	}
	// Example captions name the class by its label (circle, square,
	// triangle, cross), never by a bare index.
	if regexp.MustCompile(`· class \d`).MatchString(p.text) || !regexp.MustCompile(`· (circle|square|triangle|cross) \(\d\)`).MatchString(p.text) {
		t.Errorf("example captions do not name classes by label:\n%s", p.text)
	}
	// 4 images: the console carries the report's small-sample caveat.
	if !strings.Contains(log.String(), "note: Only 4 images: ranks this close are within noise") {
		t.Errorf("log lacks the small-sample caveat:\n%s", log.String())
	}
}

// TestEvalTargets: --target and --output reach eval's explainer; the
// map-only metrics run, the perturbation metrics (which score class
// probabilities) do not, and say so; --road and out-of-range columns are
// refused naming the target.
func TestEvalTargets(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 2)
	mh := filepath.Join(fixture.Root(), "multihead", "model")
	for _, c := range []struct {
		name, target, output, class, road string
		sanity                            string
		code                              int // 0: success
		substr                            string
	}{
		{"regression", "regression", "output_1", "top1", "none", "", 0, ""},
		{"embedding", "embedding:ref=" + paths[0], "output_2", "top1", "none", "", 0, ""},
		{"region", "region", "output_0", "2", "none", "", 0, ""},
		{"region, parameter test", "region", "output_0", "top1", "none", "params", 0, ""},
		{"road refused", "region", "output_0", "top1", "10,50", "", 2, "--road with --target region"},
		{"random logit refused", "regression", "output_1", "top1", "none", "params,logit", 2, "--sanity logit with --target regression"},
		{"column out of range", "regression", "output_1", "2", "none", "", 2, "--target regression scores 2 classes (0..1)"},
		{"target misfits output", "region", "output_1", "top1", "none", "", 2, "choose the model output it fits with --output"}, // a configuration error
		{"unknown target", "nope", "", "top1", "none", "", 2, `--target "nope"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := evalOpts()
			o.model, o.layer, o.methods, o.target, o.output, o.class, o.road, o.sensN = mh, "last_conv", "gradcam,gradcam++", c.target, c.output, c.class, c.road, 1
			o.sanity, o.sanLayers = c.sanity, "2"
			o.out = filepath.Join(t.TempDir(), "out")
			var stdout, log bytes.Buffer
			err := evalRun(context.Background(), o, paths, nil, &stdout, &log)
			if c.code != 0 {
				code := 1
				var ee exitError
				if errors.As(err, &ee) {
					code = ee.code
				}
				if err == nil || code != c.code || !strings.Contains(err.Error(), c.substr) {
					t.Fatalf("error %v (exit %d), want exit %d containing %q", err, code, c.code, c.substr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			if !strings.Contains(log.String(), "are not run") {
				t.Errorf("log does not say the perturbation metrics are not run:\n%s", log.String())
			}
			p := readHTMLPage(t, filepath.Join(o.out, "report.html"))
			// method, passes, mean rank, sparseness, complexity, max sens, flags.
			cols := 3 + 3 + 1
			if c.sanity != "" {
				cols++ // the sanity column
			}
			for _, r := range p.rows {
				if len(r) != cols || r[2] == "-" {
					t.Errorf("row %q: want the map metrics only, and a mean rank (max-sensitivity)", r)
				}
				if c.sanity != "" && !strings.HasPrefix(r[6], "|ρ| ") {
					t.Errorf("row %q: sanity cell lacks the parameter test's |ρ|", r)
				}
			}
			if !strings.Contains(p.text, "so they were not run") || !strings.Contains(p.rec, "Trust gradcam") {
				t.Errorf("report lacks the note or a recommendation: %q", p.rec)
			}
			csv, _ := os.ReadFile(filepath.Join(o.out, "metrics.csv"))
			if lines := strings.Split(string(csv), "\n"); len(lines) < 2 || !strings.HasPrefix(lines[1], "gradcam,2,0,,,,,,,") {
				t.Errorf("metrics.csv: perturbation metrics not empty:\n%s", csv)
			}
			if _, err := os.Stat(filepath.Join(o.out, "sanity.png")); (err == nil) != (c.sanity != "") {
				t.Errorf("sanity.png written: %v, want %v", err == nil, c.sanity != "")
			}
			if _, err := os.Stat(filepath.Join(o.out, "deletion.png")); err == nil {
				t.Error("deletion.png written without deletion curves")
			}
		})
	}
}
