package evaluate

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

func sampleReport() *Report {
	hit, miss := &Pointing{Hit: true, Energy: 0.8}, &Pointing{Hit: false, Energy: 0.2}
	img := func(name, method string, base, masked float64, del, ins []float64, p *Pointing) ImageResult {
		return ImageResult{Image: name, Method: method, Pointing: p,
			Faithfulness: Faithfulness{Class: 1, Base: base, Masked: masked, Deletion: del, Insertion: ins}}
	}
	results := []ImageResult{
		img("a.png", "gradcam", 0.8, 0.4, []float64{0.8, 0.2, 0.0}, []float64{0.1, 0.6, 0.8}, hit),
		img("b.png", "gradcam", 0.5, 0.6, []float64{0.5, 0.4, 0.2}, []float64{0.1, 0.3, 0.5}, miss),
		img("c.png", "gradcam", 0.9, 0.9, []float64{0.9, 0.3, 0.0}, []float64{0.1, 0.9, 0.9}, nil),
		img("a.png", "eigencam", 0.8, 0.8, []float64{0.8, 0.8, 0.0}, []float64{0.1, 0.1, 0.8}, nil),
	}
	for i := range results {
		results[i].Sparseness, results[i].Complexity = 0.1*float64(i+1), float64(i+2)
	}
	s1, s2 := 0.2, 0.5
	results[0].MaxSensitivity, results[1].MaxSensitivity = &s1, &s2 // c has none (an all-zero map)
	results[0].ROAD = &ROADResult{Class: 1, MoRF: []float64{0.8, 0.4, 0}, LeRF: []float64{0.9, 0.9, 0.5},
		MoRFTop: []bool{true, false, false}, LeRFTop: []bool{true, true, true}}
	results[1].ROAD = &ROADResult{Class: 1, MoRF: []float64{0.6, 0.2, 0.2}, LeRF: []float64{0.7, 0.9, 0.9},
		MoRFTop: []bool{true, true, false}, LeRFTop: []bool{false, true, true}}
	percentages := []float64{10, 30, 90}
	r := &Report{
		Settings:  Settings{Model: "m", Steps: 2, Baseline: "zero", Tolerance: 4.3, ROADPercentages: percentages},
		Fractions: Fractions(2), Counts: Counts(16, 2),
		Methods: Summarize([]string{"gradcam", "eigencam"}, results), Images: results,
	}
	for i := range r.Methods {
		r.Methods[i].ROAD = SummarizeROAD(percentages, r.Methods[i].Method, results)
	}
	return r
}

func TestSummarize(t *testing.T) {
	s := sampleReport().Methods
	g, e := s[0], s[1]
	checks := []struct {
		name      string
		got, want float64
	}{
		{"gradcam images", float64(g.Images), 3},
		{"gradcam boxed", float64(g.Boxed), 2},
		{"gradcam pointing %", *g.PointingGame, 50},
		{"gradcam energy %", *g.EnergyPointingGame, 50},
		{"gradcam average drop %", g.AverageDrop, 100 * (0.5 + 0 + 0) / 3},
		{"gradcam increase %", g.IncreaseInConfidence, 100.0 / 3},
		{"gradcam deletion[1]", g.Deletion[1], 0.3},
		{"gradcam deletion AUC", g.DeletionAUC, AUC([]float64{2.2 / 3, 0.3, 0.2 / 3})},
		{"gradcam insertion AUC", g.InsertionAUC, AUC([]float64{0.1, 1.8 / 3, 2.2 / 3})},
		{"eigencam deletion AUC", e.DeletionAUC, 0.6},
		{"gradcam sparseness", g.Sparseness, 0.2},
		{"gradcam complexity", g.Complexity, 3},
		{"eigencam sparseness", e.Sparseness, 0.4},
		{"gradcam max-sensitivity, over a and b", *g.MaxSensitivity, 0.35},
		// ROAD over images a and b (c has none) at 10, 30, 90 %: mean curves
		// by hand, AUC = Σ Δp·(s_k+s_k+1)/2 / 80.
		{"gradcam ROAD MoRF[1]", g.ROAD.MoRF[1], 0.3},
		{"gradcam ROAD MoRF AUC", g.ROAD.MoRFAUC, (20*(0.7+0.3)/2 + 60*(0.3+0.1)/2) / 80},
		{"gradcam ROAD LeRF AUC", g.ROAD.LeRFAUC, (20*(0.8+0.9)/2 + 60*(0.9+0.7)/2) / 80},
		{"gradcam ROAD MoRF accuracy AUC", g.ROAD.MoRFAccuracyAUC, (20*(1+0.5)/2 + 60*(0.5+0)/2) / 80},
		{"gradcam ROAD LeRF accuracy AUC", g.ROAD.LeRFAccuracyAUC, (20*(0.5+1)/2 + 60*(1+1)/2) / 80},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s = %g, want %g", c.name, c.got, c.want)
		}
	}
	if e.ROAD != nil || e.MaxSensitivity != nil {
		t.Errorf("eigencam has no ROAD or max-sensitivity results but a ROAD summary %+v, max-sensitivity %v", e.ROAD, e.MaxSensitivity)
	}
	if e.PointingGame != nil || e.EnergyPointingGame != nil || e.Boxed != 0 {
		t.Errorf("eigencam has no boxed images but pointing %v, energy %v, boxed %d", e.PointingGame, e.EnergyPointingGame, e.Boxed)
	}
}

func TestReportOutputs(t *testing.T) {
	r := sampleReport()
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(table.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "deletion AUC") || !strings.Contains(lines[0], "complexity↓") || !strings.Contains(lines[2], "5.0000") || !strings.Contains(lines[1], "gradcam") ||
		!strings.Contains(lines[1], "50.0") || !strings.Contains(lines[2], "  -  ") || !strings.Contains(lines[0], "ROAD LeRF↑") || !strings.Contains(lines[1], "0.2750") || strings.Join(strings.Fields(lines[2])[10:], " ") != "- - -" {
		t.Errorf("table:\n%s", table.String())
	}

	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := "method,images,boxed_images,pointing_game_pct,energy_pointing_game_pct,average_drop_pct,increase_in_confidence_pct,deletion_auc,insertion_auc,sparseness,complexity,max_sensitivity,road_morf_auc,road_lerf_auc,sanity_params_spearman_abs_mean,sanity_logit_ssim,sanity_verdict"
	if len(rows) != 3 || strings.Join(rows[0], ",") != wantHeader || rows[1][3] != "50" || rows[2][3] != "" || rows[2][7] != "0.6" ||
		rows[1][11] != "0.35" || rows[2][11] != "" || rows[1][12] != "0.275" || rows[2][12] != "" {
		t.Errorf("metrics.csv rows %q", rows)
	}

	buf.Reset()
	if err := r.WriteCurvesCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// gradcam: deletion, insertion and 4 ROAD curves of 3 points; eigencam
	// deletion and insertion.
	if len(rows) != 1+6*3+2*3 || strings.Join(rows[3], ",") != "gradcam,deletion,2,1,16,0.066666667" ||
		strings.Join(rows[8], ",") != "gradcam,road_morf,1,0.3,4,0.3" {
		t.Errorf("curves.csv: %d rows, rows 3 and 8 %q, %q", len(rows), rows[3], rows[8])
	}

	buf.Reset()
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Methods []struct {
			Method   string   `json:"method"`
			Pointing *float64 `json:"pointing_game_pct"`
		} `json:"methods"`
		Images []map[string]any `json:"images"`
	}
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("metrics.json is not JSON: %v", err)
	}
	if len(back.Methods) != 2 || back.Methods[1].Pointing != nil || *back.Methods[0].Pointing != 50 || len(back.Images) != 4 || back.Images[0]["deletion"] == nil {
		t.Errorf("metrics.json: %+v", back)
	}
}

func TestPlots(t *testing.T) {
	r := sampleReport()
	many := sampleReport()
	for i := 0; len(many.Methods) < 12; i++ {
		s := many.Methods[i%2]
		s.Method = fmt.Sprintf("method%d", i)
		many.Methods = append(many.Methods, s)
	}
	cases := []struct {
		name string
		plot func(*bytes.Buffer) error
		w, h int
	}{
		{"scores, 12 methods: 6×2 wider panels", func(b *bytes.Buffer) error { return many.PlotScores(b) }, 1760, 2805},
		{"deletion", func(b *bytes.Buffer) error { return r.PlotCurves(b, "deletion") }, 990, 605},
		{"insertion", func(b *bytes.Buffer) error { return r.PlotCurves(b, "insertion") }, 990, 605},
		{"scores: 3×4 panels", func(b *bytes.Buffer) error { return r.PlotScores(b) }, 1980, 1320},
	}
	for _, c := range cases {
		var b bytes.Buffer
		if err := c.plot(&b); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		img, err := png.Decode(&b)
		if err != nil {
			t.Fatalf("%s: not a PNG: %v", c.name, err)
		}
		if sz := img.Bounds().Size(); sz.X != c.w || sz.Y != c.h {
			t.Errorf("%s: %v, want %dx%d", c.name, sz, c.w, c.h)
		}
	}
	if err := r.PlotCurves(&bytes.Buffer{}, "sideways"); err == nil {
		t.Error("PlotCurves(sideways): no error")
	}
}

// TestScorePanels: the scores chart has a panel for each metric some
// method was measured on, and none for the others — no empty "not
// measured" frames. Sparseness and complexity are always measured;
// pointing needs boxes, the perturbation metrics a deletion curve,
// max-sensitivity and ROAD their options.
func TestScorePanels(t *testing.T) {
	pg := 50.0
	for _, tc := range []struct {
		name    string
		methods []Summary
		want    []string
	}{
		{"map-only metrics", []Summary{{Method: "a"}, {Method: "b"}}, []string{"sparseness", "complexity"}},
		{"one method with boxes", []Summary{{Method: "a", PointingGame: &pg}, {Method: "b"}}, []string{"pointing_game_pct", "sparseness", "complexity"}},
		{"perturbation metrics", []Summary{{Method: "a", Deletion: []float64{1, 0}}}, []string{"average_drop_pct", "increase_in_confidence_pct", "deletion_auc", "insertion_auc", "sparseness", "complexity"}},
	} {
		r := &Report{Methods: tc.methods}
		var got []string
		for _, c := range r.measuredColumns() {
			got = append(got, c.name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: panels %v, want %v", tc.name, got, tc.want)
		}
		if err := r.PlotScores(io.Discard); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if err := (&Report{}).PlotScores(io.Discard); err == nil {
		t.Error("a report of no method plotted")
	}
}

// TestDrawBox: a box is outlined black outside and white inside, its
// interior and the rest of the image untouched; boxes partly or wholly
// outside the image are clipped, not a panic.
func TestDrawBox(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 20, 10))
	grey := color.NRGBA{100, 100, 100, 255}
	for y := range 10 {
		for x := range 20 {
			img.SetNRGBA(x, y, grey)
		}
	}
	drawBox(img, Rect{X0: 2, Y0: 1, X1: 10, Y1: 8}) // pixels 2..9 × 1..7
	black, white := color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}
	for _, tc := range []struct {
		x, y int
		want color.NRGBA
	}{
		{2, 1, black}, {9, 7, black}, {5, 1, black}, {2, 4, black},
		{3, 2, white}, {8, 6, white}, {5, 2, white},
		{5, 4, grey}, {1, 1, grey}, {10, 4, grey}, {5, 8, grey},
	} {
		if got := img.NRGBAAt(tc.x, tc.y); got != tc.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
	drawBox(img, Rect{X0: -5, Y0: -5, X1: 30, Y1: 30})
	drawBox(img, Rect{X0: 40, Y0: 40, X1: 50, Y1: 50})
	if got := img.NRGBAAt(0, 0); got != black {
		t.Errorf("a box larger than the image: corner %v, want black", got)
	}
}
