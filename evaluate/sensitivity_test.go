package evaluate

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
)

// TestMaxSensitivityClosedForm uses an "explainer" whose map is the image's
// first channel: then e(x+δ) − e(x) is δ's first channel, and the score is
// max_s ‖δ_s[...,0]‖ / ‖x[...,0]‖, computed here from the perturbed images
// the explainer saw. Also: δ stays within [−r, r); each image's noise
// does not depend on its position in the batch; a zero map gives NaN.
func TestMaxSensitivityClosedForm(t *testing.T) {
	const h, w, c, r = 5, 4, 2, 0.1
	hw, chw := h*w, h*w*c
	pixels := make([]float32, 3*chw)
	for i := range pixels {
		pixels[i] = float32(math.Cos(float64(i)))
	}
	for p := range hw { // image 2's first channel, hence its map, is zero
		pixels[2*chw+p*c] = 0
	}
	first := func(x []float32, n int) []float32 {
		out := make([]float32, n*hw)
		for i := range n * hw {
			out[i] = x[i*c]
		}
		return out
	}
	maps := first(pixels, 3)
	var seen [][]float32
	explain := func(_ context.Context, x []float32, classes []int) ([]float32, error) {
		seen = append(seen, append([]float32(nil), x...))
		return first(x, len(classes)), nil
	}
	cfg := SensitivityConfig{Samples: 4, Radius: r, Seed: 7}
	got, err := MaxSensitivity(context.Background(), explain, pixels, maps, []int{0, 1, 2}, h, w, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 4 {
		t.Fatalf("%d explain calls, want one per sample (4)", len(seen))
	}
	for i := range 2 {
		var norm, want float64
		for p := range hw {
			norm += float64(pixels[i*chw+p*c]) * float64(pixels[i*chw+p*c])
		}
		for _, x := range seen {
			var d float64
			for k := range chw {
				delta := float64(x[i*chw+k]) - float64(pixels[i*chw+k])
				if math.Abs(delta) > r*(1+1e-6) {
					t.Fatalf("image %d value %d: noise %g outside ±%g", i, k, delta, r)
				}
				if k%c == 0 {
					d += delta * delta
				}
			}
			want = math.Max(want, math.Sqrt(d/norm))
		}
		if math.Abs(got[i]-want) > 1e-6*want {
			t.Errorf("image %d: %g, want %g", i, got[i], want)
		}
	}
	if !math.IsNaN(got[2]) {
		t.Errorf("all-zero map: %g, want NaN", got[2])
	}
	// Image 1 alone gets the same noise as at position 1.
	seen = nil
	alone, err := MaxSensitivity(context.Background(), explain, pixels[chw:2*chw], maps[hw:2*hw], []int{1}, h, w, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if alone[0] != got[1] {
		t.Errorf("image 1 alone: %g, in a batch %g; the noise must not depend on the position", alone[0], got[1])
	}

	// Two methods at once (the first and the second channel as maps): one
	// explanation per sample serves both, and each method's numbers are
	// those it gets alone (the noise does not depend on the method).
	second := func(x []float32, n int) []float32 {
		out := make([]float32, n*hw)
		for i := range n * hw {
			out[i] = x[i*c+1]
		}
		return out
	}
	calls := 0
	both := func(_ context.Context, x []float32, classes []int) ([][]float32, error) {
		calls++
		return [][]float32{first(x, len(classes)), second(x, len(classes))}, nil
	}
	all, err := MaxSensitivityAll(context.Background(), both, pixels, [][]float32{maps, second(pixels, 3)}, []int{0, 1, 2}, h, w, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if calls != cfg.Samples {
		t.Errorf("%d explain calls for 2 methods, want one per sample (%d)", calls, cfg.Samples)
	}
	secondAlone, err := MaxSensitivity(context.Background(), func(_ context.Context, x []float32, classes []int) ([]float32, error) {
		return second(x, len(classes)), nil
	}, pixels, second(pixels, 3), []int{0, 1, 2}, h, w, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for j, want := range [][]float64{got, secondAlone} {
			if g := all[j][i]; g != want[i] && !(math.IsNaN(g) && math.IsNaN(want[i])) {
				t.Errorf("method %d image %d: %g with both methods, %g alone", j, i, g, want[i])
			}
		}
	}
	if math.IsNaN(all[1][2]) || all[1][2] == all[0][0] {
		t.Errorf("second method's image 2 (non-zero second channel): %g", all[1][2])
	}
}

// TestMaxSensitivityMatchesQuantus compares tfcam's max-sensitivity of
// Grad-CAM on 8 shapes images (5 samples, radius 0.05) with Quantus 0.5.3's
// MaxSensitivity (scripts/peer_sensitivity.py) fed the same perturbed
// images and an independent Grad-CAM (GradientTape, numpy): within 1e-5
// (float32 maps of two implementations; measured 4e-8).
func TestMaxSensitivityMatchesQuantus(t *testing.T) {
	const n, tol = 8, 1e-5
	f, m, x := loadShapes(t, n)
	h, w, c := m.InputSize()
	ex, err := explainer.New(m, explainer.Config{Methods: []explainer.Method{explainer.GradCAM{}}})
	if err != nil {
		t.Fatal(err)
	}
	explain := func(ctx context.Context, px []float32, classes []int) ([]float32, error) {
		res, err := ex.Explain(ctx, explainer.Batch{Pixels: px, N: len(classes)}, explainer.Classes(classes...))
		if err != nil {
			return nil, err
		}
		var out []float32
		for _, r := range res {
			out = append(out, r.Maps[0][0].Normalized...)
		}
		return out, nil
	}
	res, err := ex.Explain(context.Background(), explainer.Batch{Pixels: x, N: n}, explainer.Top1())
	if err != nil {
		t.Fatal(err)
	}
	var maps []float32
	classes, targets := make([]int, n), make([]float32, n)
	for i, r := range res {
		maps = append(maps, r.Maps[0][0].Normalized...)
		classes[i], targets[i] = r.Maps[0][0].Class, float32(r.Maps[0][0].Class)
	}
	var perturbed []float32
	record := func(ctx context.Context, px []float32, classes []int) ([]float32, error) {
		perturbed = append(perturbed, px...)
		return explain(ctx, px, classes)
	}
	const samples = 5
	got, err := MaxSensitivity(context.Background(), record, x, maps, classes, h, w, c, SensitivityConfig{Samples: samples, Radius: 0.05, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for name, v := range map[string]struct {
		data  []float32
		shape []int
	}{"inputs": {x, []int{n, h, w, c}}, "targets": {targets, []int{n}}, "perturbed": {perturbed, []int{samples, n, h, w, c}}} {
		if err := npy.WriteFloat32File(filepath.Join(work, name+".npy"), v.data, v.shape); err != nil {
			t.Fatal(err)
		}
	}
	fixture.Python(t, "peer_sensitivity.py", f.Dir, work)
	raw, err := os.ReadFile(filepath.Join(work, "quantus.json"))
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		Max []float64 `json:"max_sensitivity"`
	}
	if err := json.Unmarshal(raw, &q); err != nil {
		t.Fatal(err)
	}
	if len(q.Max) != n {
		t.Fatalf("quantus.json: %d scores, want %d", len(q.Max), n)
	}
	var worst float64
	for i := range n {
		worst = math.Max(worst, math.Abs(got[i]-q.Max[i]))
	}
	if worst > tol {
		t.Errorf("max-sensitivity: max difference from Quantus %.3g > %g\nours   %v\nQuantus %v", worst, tol, got, q.Max)
	} else {
		t.Logf("max-sensitivity: max difference from Quantus %.2g; ours %v", worst, got)
	}
}
