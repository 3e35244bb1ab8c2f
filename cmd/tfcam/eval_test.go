package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/evaluate"
	"github.com/tfcam/tfcam/internal/fixture"
)

// shapesEvalSubset copies the first n images of the shapes evaluation set
// (written by build_fixtures.py with boxes.csv) into dir/imgs, and returns
// their boxes.csv rows.
func shapesEvalSubset(t *testing.T, dir string, n int) []string {
	t.Helper()
	src := filepath.Join(fixture.Load(t, "shapes").Dir, "eval")
	raw, err := os.ReadFile(filepath.Join(src, "boxes.csv"))
	if err != nil {
		t.Fatalf("shapes evaluation set missing (%v): run `make setup`", err)
	}
	rows := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(rows) != 201 || rows[0] != "image,x0,y0,x1,y1" {
		t.Fatalf("%s/boxes.csv: %d rows, header %q; want 200 boxes under image,x0,y0,x1,y1", src, len(rows)-1, rows[0])
	}
	os.MkdirAll(filepath.Join(dir, "imgs"), 0o755)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%03d.png", i)
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "imgs", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return rows[1 : n+1]
}

func evalOpts() evalOptions {
	return evalOptions{
		modelFlags: modelFlags{model: filepath.Join(fixture.Root(), "shapes", "model"), device: "auto"},
		methods:    "gradcam,gradcam++", class: "top1", tolerance: 15, steps: 8, baseline: "zero",
		batch: 5, runImages: 64, workers: 2, road: "20,50,80", roadNoise: 0.01,
		sensN: 2, sensR: 0.02,
	}
}

func TestEvalEndToEnd(t *testing.T) {
	dir := t.TempDir()
	rows := shapesEvalSubset(t, dir, 12)
	// Boxes by base name and by path, one for an image that is not an input,
	// and none for the last two images.
	boxes := "image,x0,y0,x1,y1\n" + strings.Join(rows[:9], "\n") + "\n" +
		filepath.Join(dir, "imgs", rows[9][:strings.Index(rows[9], ",")]) + rows[9][strings.Index(rows[9], ","):] + "\nmissing.png,1,1,5,5\n"
	os.WriteFile(filepath.Join(dir, "boxes.csv"), []byte(boxes), 0o644)
	os.WriteFile(filepath.Join(dir, "imgs", "broken.png"), []byte("not a png"), 0o644)
	o := evalOpts()
	o.boxes, o.out = filepath.Join(dir, "boxes.csv"), filepath.Join(dir, "out")
	var stdout, log bytes.Buffer
	err := evalRun(context.Background(), o, []string{filepath.Join(dir, "imgs")}, nil, &stdout, &log)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), "1 of 13 images failed") {
		t.Fatalf("error %v, want exit 1 for the broken image; log:\n%s", err, log.String())
	}
	for _, want := range []string{"failed: imagefile: \"" + filepath.Join(dir, "imgs", "broken.png"), "names 1 images that are not among the inputs", "3 of 13 inputs have no boxes"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	table := stdout.String()
	if !strings.Contains(table, "gradcam++") || strings.Count(table, "\n") != 3 {
		t.Errorf("table:\n%s", table)
	}
	for _, name := range []string{"metrics.csv", "curves.csv", "deletion.png", "insertion.png", "scores.png"} {
		fh, err := os.Open(filepath.Join(o.out, name))
		if err != nil {
			t.Fatalf("%s not written: %v", name, err)
		}
		if strings.HasSuffix(name, ".png") {
			if _, err := png.Decode(fh); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		fh.Close()
	}
	raw, err := os.ReadFile(filepath.Join(o.out, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Settings struct {
			Tolerance  float64   `json:"tolerance_px"`
			MethodSpec string    `json:"method_spec"`
			ROAD       []float64 `json:"road_percentages"`
			Samples    int       `json:"sensitivity_samples"`
		} `json:"settings"`
		Pixels  []int `json:"pixels"`
		Methods []struct {
			Method   string    `json:"method"`
			Images   int       `json:"images"`
			Boxed    int       `json:"boxed_images"`
			Pointing *float64  `json:"pointing_game_pct"`
			Energy   *float64  `json:"energy_pointing_game_pct"`
			Deletion []float64 `json:"deletion"`
			DelAUC   float64   `json:"deletion_auc"`
			InsAUC   float64   `json:"insertion_auc"`
			Sens     *float64  `json:"max_sensitivity"`
			ROAD     *struct {
				MoRFAUC float64   `json:"morf_auc"`
				LeRFAUC float64   `json:"lerf_auc"`
				MoRFAcc []float64 `json:"morf_accuracy"`
			} `json:"road"`
		} `json:"methods"`
		Images []struct {
			Image    string          `json:"image"`
			Pointing json.RawMessage `json:"pointing"`
			ROAD     *struct {
				MoRF []float64 `json:"morf"`
			} `json:"road"`
		} `json:"images"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Methods) != 2 || len(rep.Images) != 24 || len(rep.Pixels) != 9 || rep.Pixels[8] != 64*64 {
		t.Fatalf("metrics.json: %d methods, %d image results, pixels %v", len(rep.Methods), len(rep.Images), rep.Pixels)
	}
	if rep.Settings.MethodSpec != "gradcam,gradcam++" {
		t.Errorf("method_spec %q, want the --method given", rep.Settings.MethodSpec)
	}
	if want := 15.0 * 64 / 224; rep.Settings.Tolerance != want {
		t.Errorf("tolerance %g px, want %g (15 px at 224 scaled to 64)", rep.Settings.Tolerance, want)
	}
	if fmt.Sprint(rep.Settings.ROAD) != "[20 50 80]" || rep.Settings.Samples != 2 {
		t.Errorf("road_percentages %v, sensitivity_samples %d; want --road's [20 50 80] and --sensitivity's 2", rep.Settings.ROAD, rep.Settings.Samples)
	}
	for _, m := range rep.Methods {
		// The shapes model looks at the shape: a sound pipeline points at
		// the box, deletes the class faster than it inserts it, and loses
		// it faster removing the most relevant pixels than the least (ROAD).
		if m.Images != 12 || m.Boxed != 10 || m.Pointing == nil || *m.Pointing < 80 || *m.Energy < 25 ||
			m.DelAUC >= m.InsAUC || len(m.Deletion) != 9 {
			t.Errorf("%s: %d images, %d boxed, pointing %v, energy %v, deletion AUC %g, insertion AUC %g", m.Method, m.Images, m.Boxed,
				m.Pointing, m.Energy, m.DelAUC, m.InsAUC)
		}
		// Noise of ±0.02 on a unit-range input moves a Grad-CAM map a
		// little, not by its whole norm.
		if m.Sens == nil || !(*m.Sens > 0 && *m.Sens < 0.5) {
			t.Errorf("%s: max-sensitivity %v, want in (0, 0.5)", m.Method, m.Sens)
		}
		// Measured on these images: MoRF ≈ 0.03, LeRF ≈ 1.0.
		if m.ROAD == nil || m.ROAD.LeRFAUC-m.ROAD.MoRFAUC < 0.5 || len(m.ROAD.MoRFAcc) != 3 {
			t.Errorf("%s: ROAD %+v, want 3 points and MoRF AUC well below LeRF AUC (by > 0.5)", m.Method, m.ROAD)
		}
	}
	for _, im := range rep.Images {
		if im.ROAD == nil || len(im.ROAD.MoRF) != 3 {
			t.Fatalf("%s: ROAD %+v, want 3 MoRF points", im.Image, im.ROAD)
		}
	}
	boxed := 0
	for _, im := range rep.Images {
		if len(im.Pointing) > 0 {
			boxed++
		}
	}
	if boxed != 20 {
		t.Errorf("%d image results have pointing, want 20 (10 boxed images × 2 methods)", boxed)
	}
}

func TestEvalErrors(t *testing.T) {
	dir := t.TempDir()
	shapesEvalSubset(t, dir, 2)
	imgs := filepath.Join(dir, "imgs")
	os.MkdirAll(filepath.Join(dir, "other"), 0o755)
	b, _ := os.ReadFile(filepath.Join(imgs, "000.png"))
	os.WriteFile(filepath.Join(dir, "other", "000.png"), b, 0o644)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	noMatch := write("nomatch.csv", "image,x0,y0,x1,y1\nzzz.png,1,1,2,2\n")
	ambiguous := write("ambiguous.csv", "image,x0,y0,x1,y1\n000.png,1,1,2,2\n")
	badHeader := write("bad.csv", "name,x0,y0,x1,y1\n000.png,1,1,2,2\n")
	cases := []struct {
		name   string
		edit   func(*evalOptions)
		args   []string
		code   int
		substr string
	}{
		{"bad baseline", func(o *evalOptions) { o.baseline = "noise" }, []string{imgs}, 2, "--baseline"},
		{"zero steps", func(o *evalOptions) { o.steps = 0 }, []string{imgs}, 2, "--steps 0"},
		{"bad class", func(o *evalOptions) { o.class = "cat" }, []string{imgs}, 2, `--class "cat"`},
		{"class out of range", func(o *evalOptions) { o.class = "9" }, []string{imgs}, 2, "has 4 classes"},
		{"bad method", func(o *evalOptions) { o.methods = "nope" }, []string{imgs}, 2, "--method"},
		{"concept method", func(o *evalOptions) { o.methods = "gradcam,dff" }, []string{imgs}, 2, "--method dff: its concept maps explain no class"},
		{"negative tolerance", func(o *evalOptions) { o.tolerance = -1 }, []string{imgs}, 2, "--tolerance"},
		{"ROAD percentage 100", func(o *evalOptions) { o.road = "50,100" }, []string{imgs}, 2, `--road "50,100"`},
		{"ROAD percentages descending", func(o *evalOptions) { o.road = "50,20" }, []string{imgs}, 2, `--road "50,20"`},
		{"ROAD not a number", func(o *evalOptions) { o.road = "ten" }, []string{imgs}, 2, `--road "ten"`},
		{"negative ROAD noise", func(o *evalOptions) { o.roadNoise = -0.1 }, []string{imgs}, 2, "--road-noise"},
		{"negative sensitivity samples", func(o *evalOptions) { o.sensN = -1 }, []string{imgs}, 2, "--sensitivity -1"},
		{"zero sensitivity radius", func(o *evalOptions) { o.sensR = 0 }, []string{imgs}, 2, "--sensitivity-radius 0"},
		{"unknown sanity check", func(o *evalOptions) { o.sanity = "params,noise" }, []string{imgs}, 2, `--sanity: evaluate: unknown sanity check "noise"`},
		{"zero sanity steps", func(o *evalOptions) { o.sanity, o.sanLayers = "params", "0" }, []string{imgs}, 2, `--sanity-layers "0"`},
		{"missing boxes file", func(o *evalOptions) { o.boxes = filepath.Join(dir, "none.csv") }, []string{imgs}, 1, "--boxes"},
		{"boxes match nothing", func(o *evalOptions) { o.boxes = noMatch }, []string{imgs}, 1, "none of its images"},
		{"ambiguous base name", func(o *evalOptions) { o.boxes = ambiguous }, []string{imgs, filepath.Join(dir, "other")}, 1, "name it by its path"},
		{"bad boxes header", func(o *evalOptions) { o.boxes = badHeader }, []string{imgs}, 1, `lacks column "image"`},
		{"no such input", nil, []string{filepath.Join(dir, "nothing")}, 1, "no such file"},
		{"all images broken", nil, []string{write("broken.png", "xx")}, 1, "all 1 images failed"},
	}
	for _, c := range cases {
		o := evalOpts()
		if c.edit != nil {
			c.edit(&o)
		}
		var stdout, log bytes.Buffer
		err := evalRun(context.Background(), o, c.args, nil, &stdout, &log)
		code := 1
		var ee exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if err == nil || code != c.code || !strings.Contains(err.Error(), c.substr) {
			t.Errorf("%s: error %v (exit %d), want exit %d containing %q", c.name, err, code, c.code, c.substr)
		}
	}
}

func TestEvalHelpDocumentsBoxes(t *testing.T) {
	var out bytes.Buffer
	var o evalOptions
	fs := evalFlags(&o)
	fs.SetOutput(&out)
	if err := fs.Parse([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("eval -h: %v", err)
	}
	for _, want := range []string{"image,x0,y0,x1,y1", "inclusive", "--baseline", "Average Drop", "-steps", "-tolerance", "ROAD", "imputation", "-road-noise", "--seed also seeds", "max-sensitivity", "-sensitivity-radius",
		"report.html", "mean rank", "recommendation", "-target", "docs/targets.md", "only the map-only metrics run"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestEvalInterrupted(t *testing.T) {
	dir := t.TempDir()
	shapesEvalSubset(t, dir, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, log bytes.Buffer
	err := evalRun(ctx, evalOpts(), []string{filepath.Join(dir, "imgs")}, nil, &stdout, &log)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 130 || stdout.Len() != 0 {
		t.Errorf("cancelled run: %v, table %q; want exit 130 and no table", err, stdout.String())
	}
}

// TestEvalSanity runs --sanity all on two shapes images: the table's
// sanity columns, metrics.json's per-step curves over the cascade's
// layers, verdicts and flags, and sanity.png.
func TestEvalSanity(t *testing.T) {
	dir := t.TempDir()
	shapesEvalSubset(t, dir, 3)
	o := evalOpts()
	o.methods, o.sanity, o.sanLayers, o.sanImages, o.out = "gradcam,guided-backprop", "all", "2", 2, filepath.Join(dir, "out")
	o.road, o.sensN = "none", 0
	var stdout, log bytes.Buffer
	if err := evalRun(context.Background(), o, []string{filepath.Join(dir, "imgs")}, nil, &stdout, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(stdout.String(), "logit SSIM") || !strings.Contains(log.String(), "5 layers with weights, randomised from the top in 2 steps") || !strings.Contains(log.String(), "first), on the first 2 of 3 images (--sanity-images)") {
		t.Errorf("table:\n%s\nlog:\n%s", stdout.String(), log.String())
	}
	raw, err := os.ReadFile(filepath.Join(o.out, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep evaluate.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Settings.SanityCuts, []int{3, 5}) || len(rep.Settings.SanityLayers) != 5 || rep.Settings.SanityImages != 2 {
		t.Errorf("settings: cuts %v, layers %v, images %d", rep.Settings.SanityCuts, rep.Settings.SanityLayers, rep.Settings.SanityImages)
	}
	// --sanity-images 2: the first two images in input order, only.
	checked := map[string][]string{}
	for _, r := range rep.Images {
		if r.Sanity != nil {
			checked[r.Method] = append(checked[r.Method], filepath.Base(r.Image))
		}
	}
	for _, m := range []string{"gradcam", "guided-backprop"} {
		if got := checked[m]; len(got) != 2 || slices.Contains(got, "002.png") {
			t.Errorf("%s: sanity results for %v, want the first 2 images", m, got)
		}
	}
	md, _ := os.ReadFile(filepath.Join(o.out, "report.md"))
	if !strings.Contains(string(md), "| sanity |") || !strings.Contains(string(md), "on the first 2 images") {
		t.Errorf("report.md lacks the sanity column or settings:\n%s", md)
	}
	for _, s := range rep.Methods {
		if s.Sanity == nil || len(s.Sanity.SpearmanAbs) != 2 || s.Sanity.LogitSSIM == nil || s.Sanity.Verdict() == "-" {
			t.Errorf("%s: sanity %+v", s.Method, s.Sanity)
			continue
		}
		if fails := (s.Sanity.FailsParams != nil && *s.Sanity.FailsParams) || (s.Sanity.FailsLogit != nil && *s.Sanity.FailsLogit); fails != (len(s.Flags) > 0) {
			t.Errorf("%s: verdict %s but flags %q", s.Method, s.Sanity.Verdict(), s.Flags)
		}
		if !strings.Contains(stdout.String(), s.Sanity.Verdict()) {
			t.Errorf("table lacks %s's verdict %q", s.Method, s.Sanity.Verdict())
		}
	}
	if fi, err := os.Stat(filepath.Join(o.out, "sanity.png")); err != nil || fi.Size() < 1000 {
		t.Errorf("sanity.png: %v", err)
	}
}

// TestEvalBoxOutsideImage: a box that lies wholly outside its image is
// an error for that image (reported, the image fails), not a pointing
// game silently lost; the other images are scored.
func TestEvalBoxOutsideImage(t *testing.T) {
	dir := t.TempDir()
	rows := shapesEvalSubset(t, dir, 3)
	boxes := "image,x0,y0,x1,y1\n" + rows[0] + "\n" + rows[1] + "\n002.png,5000,5000,5010,5010\n"
	os.WriteFile(filepath.Join(dir, "boxes.csv"), []byte(boxes), 0o644)
	o := evalOpts()
	o.boxes, o.road, o.sensN = filepath.Join(dir, "boxes.csv"), "none", 0
	var stdout, log bytes.Buffer
	err := evalRun(context.Background(), o, []string{filepath.Join(dir, "imgs")}, nil, &stdout, &log)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), "1 of 3 images failed") {
		t.Fatalf("error %v, want exit 1 for the image with the outside box; log:\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "002.png: box 5000,5000,5010,5010 lies outside the image") {
		t.Errorf("log does not name the box:\n%s", log.String())
	}
}

// TestEvalCountsSkippedInputs: an input skipped before the run (missing)
// counts among the images, in the failure message as in its total.
func TestEvalCountsSkippedInputs(t *testing.T) {
	dir := t.TempDir()
	shapesEvalSubset(t, dir, 3)
	o := evalOpts()
	o.road, o.sensN = "none", 0
	var stdout, log bytes.Buffer
	err := evalRun(context.Background(), o, []string{filepath.Join(dir, "imgs"), filepath.Join(dir, "gone.png")}, nil, &stdout, &log)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), "1 of 4 images failed") || !strings.Contains(err.Error(), "covers the other 3") {
		t.Fatalf("error %v, want exit 1: 1 of 4 images failed, the table covering the other 3; log:\n%s", err, log.String())
	}
}
