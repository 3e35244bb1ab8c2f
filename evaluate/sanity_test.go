package evaluate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
	"github.com/tfcam/tfcam/tfgraph"
)

// sanityExplain is the SanityExplainFunc of ex on pixels: raw maps per
// method.
func sanityExplain(ex *explainer.Explainer, pixels []float32, n int) SanityExplainFunc {
	return func(ctx context.Context, weights map[tf.Output]tfgraph.Feed, classes []int) ([][]float32, error) {
		res, err := ex.ExplainWithWeights(ctx, explainer.Batch{Pixels: pixels, N: n}, explainer.Classes(classes...), weights)
		if err != nil {
			return nil, err
		}
		out := make([][]float32, len(ex.Methods()))
		for _, r := range res {
			for j, mp := range r.Maps[0] {
				out[j] = append(out[j], mp.Raw...)
			}
		}
		return out, nil
	}
}

// originals explains pixels with the model's own weights: classes and raw
// maps per method.
func originals(t *testing.T, ex *explainer.Explainer, pixels []float32, n int) ([]int, [][]float32) {
	t.Helper()
	res, err := ex.Explain(context.Background(), explainer.Batch{Pixels: pixels, N: n}, explainer.Top1())
	if err != nil {
		t.Fatal(err)
	}
	classes := make([]int, n)
	maps := make([][]float32, len(ex.Methods()))
	for i, r := range res {
		classes[i] = r.Maps[0][0].Class
		for j, mp := range r.Maps[0] {
			maps[j] = append(maps[j], mp.Raw...)
		}
	}
	return classes, maps
}

// TestSanityCascade checks the cascade on the shapes model (5 layers with
// weights): the steps' layer counts, that step k feeds exactly the
// variables of its top layers, each a permutation of its own values that
// moves them, and that the seed alone chooses the permutations.
func TestSanityCascade(t *testing.T) {
	_, m, _ := loadShapes(t, 1)
	fw, err := m.Inline()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := fw.VariableLayers()
	if err != nil {
		t.Fatal(err)
	}
	var reads []tf.Output
	for _, l := range layers {
		for _, v := range l.Variables {
			reads = append(reads, v.Reads[0])
		}
	}
	values, err := m.Run(context.Background(), nil, reads)
	if err != nil {
		t.Fatal(err)
	}
	orig := map[tf.Output][]float32{}
	for i, r := range reads {
		orig[r] = values[i]
	}
	tests := []struct {
		steps int
		cuts  []int
	}{
		{0, []int{1, 2, 3, 4, 5}},
		{1, []int{5}},
		{2, []int{3, 5}},
		{3, []int{2, 4, 5}},
		{9, []int{1, 2, 3, 4, 5}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("steps%d", tc.steps), func(t *testing.T) {
			s, err := NewSanity(context.Background(), m, 4, SanityConfig{Params: true, Steps: tc.steps, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Cuts(), tc.cuts) {
				t.Fatalf("cuts %v, want %v", s.Cuts(), tc.cuts)
			}
			if want := []string{"predictions", "last_conv", "conv3", "conv2", "conv1"}; !slices.Equal(s.Layers(), want) {
				t.Errorf("layers %v, want %v", s.Layers(), want)
			}
			for k, cut := range tc.cuts {
				byName := map[string]tfgraph.Feed{} // Outputs are compared by op
				for r, f := range s.feeds[k] {
					byName[r.Op.Name()] = f
				}
				fed := 0
				for li, l := range layers {
					for _, v := range l.Variables {
						f, ok := byName[v.Reads[0].Op.Name()]
						if ok != (li < cut) {
							t.Errorf("step %d (%d layers): %s fed %v", k, cut, v.Name, ok)
							continue
						}
						if !ok {
							continue
						}
						fed++
						a, b := slices.Clone(orig[v.Reads[0]]), slices.Clone(f.F32)
						if slices.Equal(a, b) {
							t.Errorf("%s: the permutation left it unchanged", v.Name)
						}
						slices.Sort(a)
						slices.Sort(b)
						if !slices.Equal(a, b) {
							t.Errorf("%s: the fed value is not a permutation of the weight's values", v.Name)
						}
					}
				}
				if fed != len(s.feeds[k]) {
					t.Errorf("step %d feeds %d tensors, %d of them variables of its layers", k, len(s.feeds[k]), fed)
				}
			}
		})
	}
	a, _ := NewSanity(context.Background(), m, 4, SanityConfig{Params: true, Steps: 1, Seed: 3})
	b, _ := NewSanity(context.Background(), m, 4, SanityConfig{Params: true, Steps: 1, Seed: 3})
	c, _ := NewSanity(context.Background(), m, 4, SanityConfig{Params: true, Steps: 1, Seed: 4})
	first := func(s *Sanity) []float32 { return s.feeds[0][s.layers[0].Variables[0].Reads[0]].F32 }
	if !slices.Equal(first(a), first(b)) || slices.Equal(first(a), first(c)) {
		t.Error("the permutations must depend on the seed, and only on it")
	}
}

// TestSanityUnrandomised feeds the model's own weights at every step (in
// exact arithmetic nothing changes): every similarity must be exactly 1,
// for a gradient method and for Score-CAM, whose masked copies read the
// fed weights. With the permuted weights Score-CAM's map must change.
func TestSanityUnrandomised(t *testing.T) {
	const n = 3
	_, m, x := loadShapes(t, n)
	ex, err := explainer.New(m, explainer.Config{Methods: []explainer.Method{explainer.GradCAM{}, explainer.ScoreCAM{}}, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSanity(context.Background(), m, ex.Classes(), SanityConfig{Params: true, Steps: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	classes, orig := originals(t, ex, x, n)
	explain := sanityExplain(ex, x, n)
	random, err := s.Run(context.Background(), x, classes, orig, explain)
	if err != nil {
		t.Fatal(err)
	}
	// The same steps with each fed value replaced by the weight's own.
	own := make([]map[tf.Output]tfgraph.Feed, len(s.feeds))
	for k, step := range s.feeds {
		var reads []tf.Output
		for r := range step {
			reads = append(reads, r)
		}
		vals, err := m.Run(context.Background(), nil, reads)
		if err != nil {
			t.Fatal(err)
		}
		own[k] = map[tf.Output]tfgraph.Feed{}
		for i, r := range reads {
			own[k][r] = tfgraph.Feed{F32: vals[i], Shape: step[r].Shape}
		}
	}
	saved := s.feeds
	s.feeds = own
	same, err := s.Run(context.Background(), x, classes, orig, explain)
	s.feeds = saved
	if err != nil {
		t.Fatal(err)
	}
	for j, name := range []string{"gradcam", "scorecam"} {
		for i := range n {
			r := same[j][i]
			for k := range s.feeds {
				if r.Spearman[k] != 1 || r.SpearmanAbs[k] != 1 || r.SSIM[k] != 1 {
					t.Errorf("%s image %d step %d with the model's own weights: Spearman %v, |·| %v, SSIM %v; want exactly 1", name, i, k, r.Spearman[k], r.SpearmanAbs[k], r.SSIM[k])
				}
			}
			if last := random[j][i].SpearmanAbs[len(s.feeds)-1]; last > 0.999 {
				t.Errorf("%s image %d: |Spearman| %v after randomising every layer: the fed weights did not reach the map", name, i, last)
			}
		}
	}
}

// TestSanityMatchesQuantus runs the whole cascade (every layer) and the
// random logit for Grad-CAM on 6 shapes images and compares each image's
// similarity after each layer with Quantus 0.5.3's MPRT (Spearman with
// abs=True; ssim) and RandomLogit (scripts/peer_sanity.py), given tfcam's
// permuted weights and random classes and an independent Grad-CAM
// (GradientTape, numpy). Tolerance 1e-4: float32 maps of two
// implementations whose tiny differences can swap near-equal ranks
// (measured: 2.1e-6 Spearman, 2.8e-7 SSIM, 2.4e-8 random logit). Quantus
// is told to normalise each map by its own maximum, as tfcam does (its
// default divides a batch by the batch's maximum).
func TestSanityMatchesQuantus(t *testing.T) {
	const n, tol = 6, 1e-4
	f, m, x := loadShapes(t, n)
	h, w, c := m.InputSize()
	ex, err := explainer.New(m, explainer.Config{Methods: []explainer.Method{explainer.GradCAM{}}, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSanity(context.Background(), m, ex.Classes(), SanityConfig{Params: true, Logit: true, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	classes, orig := originals(t, ex, x, n)
	res, err := s.Run(context.Background(), x, classes, orig, sanityExplain(ex, x, n))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	targets, others := make([]float32, n), make([]float32, n)
	for i := range n {
		targets[i], others[i] = float32(classes[i]), float32(*res[0][i].LogitClass)
		if *res[0][i].LogitClass == classes[i] {
			t.Errorf("image %d: the random class is the explained class %d", i, classes[i])
		}
	}
	var list strings.Builder
	last := map[string]tfgraph.Feed{}
	for r, f := range s.feeds[len(s.feeds)-1] {
		last[r.Op.Name()] = f
	}
	k := 0
	for _, l := range s.layers {
		for _, v := range l.Variables {
			shape := make([]int, len(v.Shape))
			for d := range shape {
				shape[d] = int(v.Shape[d])
			}
			file := fmt.Sprintf("var%d.npy", k)
			if err := npy.WriteFloat32File(filepath.Join(work, file), last[v.Reads[0].Op.Name()].F32, shape); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&list, "%s\t%s\n", v.Name, file)
			k++
		}
	}
	if err := os.WriteFile(filepath.Join(work, "vars.txt"), []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]struct {
		data  []float32
		shape []int
	}{"inputs": {x, []int{n, h, w, c}}, "targets": {targets, []int{n}}, "others": {others, []int{n}}} {
		if err := npy.WriteFloat32File(filepath.Join(work, name+".npy"), v.data, v.shape); err != nil {
			t.Fatal(err)
		}
	}
	fixture.Python(t, "peer_sanity.py", f.Dir, work)
	raw, err := os.ReadFile(filepath.Join(work, "quantus.json"))
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		Layers   []string              `json:"layers"`
		Spearman map[string][]*float64 `json:"spearman"`
		SSIM     map[string][]*float64 `json:"ssim"`
		Logit    []*float64            `json:"logit_ssim"`
	}
	if err := json.Unmarshal(raw, &q); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q.Layers, s.Layers()) {
		t.Fatalf("Quantus' cascade %v, tfcam's %v", q.Layers, s.Layers())
	}
	var worst [3]float64
	nan := 0
	diff := func(what string, got float64, ref *float64) float64 {
		if ref == nil {
			// A map of zeros: NaN in Quantus (scipy's Spearman of a
			// constant; 0/0 in its normalisation). Spearman's documented
			// value is 0 (1 for equal maps); SSIM compares the zeros.
			nan++
			if strings.HasSuffix(what, "Spearman") && got != 0 && got != 1 {
				t.Errorf("%s: Quantus NaN (a constant map), tfcam %v; want 0 or 1", what, got)
			}
			return 0
		}
		return math.Abs(got - *ref)
	}
	for i := range n {
		for k, l := range q.Layers {
			if len(q.Spearman[l]) != n || len(q.SSIM[l]) != n {
				t.Fatalf("quantus.json: layer %s has %d/%d scores, want %d", l, len(q.Spearman[l]), len(q.SSIM[l]), n)
			}
			what := fmt.Sprintf("image %d, %s", i, l)
			worst[0] = math.Max(worst[0], diff(what+" Spearman", res[0][i].SpearmanAbs[k], q.Spearman[l][i]))
			worst[1] = math.Max(worst[1], diff(what+" SSIM", res[0][i].SSIM[k], q.SSIM[l][i]))
		}
		worst[2] = math.Max(worst[2], diff(fmt.Sprintf("image %d random logit", i), *res[0][i].LogitSSIM, q.Logit[i]))
	}
	t.Logf("%d of Quantus' scores are NaN (constant maps)", nan)

	for i, name := range []string{"MPRT Spearman |·|", "MPRT SSIM", "random-logit SSIM"} {
		if !(worst[i] <= tol) {
			t.Errorf("%s: max difference from Quantus %.3g > %g", name, worst[i], tol)
		} else {
			t.Logf("%s: max difference from Quantus %.2g", name, worst[i])
		}
	}
}

// TestSanityVerdicts checks the summaries, verdicts and flags against the
// thresholds, and the typed errors.
func TestSanityVerdicts(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name         string
		last, logit  float64
		verdict      string
		flags        int
		flagContains string
	}{
		{"pass", 0.2, 0.3, "pass", 0, ""},
		{"at the thresholds", ParamsThreshold, LogitThreshold, "pass", 0, ""},
		{"params", 0.83, 0.3, "FAILS params", 1, "correlate 0.83 on average"},
		{"logit", 0.1, 0.9, "FAILS logit", 1, "SSIM 0.90"},
		{"both", 0.9, 0.9, "FAILS params+logit", 2, "randomisation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Two images whose means are the test's values.
			var results []ImageResult
			for _, d := range []float64{-0.05, 0.05} {
				results = append(results, ImageResult{Method: "m", Sanity: &SanityResult{
					Spearman: []float64{2*tc.last - 1 + d, 1}, SpearmanAbs: []float64{2*tc.last - 1 + d, 1}, SSIM: []float64{1, 0.5}, LogitSSIM: f(tc.logit + d)}})
			}
			results = append(results, ImageResult{Method: "other", Sanity: &SanityResult{SpearmanAbs: []float64{0, 0}, Spearman: []float64{0, 0}, SSIM: []float64{0, 0}}})
			sum := Summarize([]string{"m"}, results)[0]
			if math.Abs(*sum.Sanity.SpearmanAbsMean-tc.last) > 1e-12 || math.Abs(*sum.Sanity.LogitSSIM-tc.logit) > 1e-12 {
				t.Errorf("means %v, %v; want %v, %v", sum.Sanity.SpearmanAbs, *sum.Sanity.LogitSSIM, tc.last, tc.logit)
			}
			if got := sum.Sanity.Verdict(); got != tc.verdict {
				t.Errorf("verdict %q, want %q", got, tc.verdict)
			}
			if len(sum.Flags) != tc.flags || tc.flags > 0 && !strings.Contains(strings.Join(sum.Flags, " "), tc.flagContains) {
				t.Errorf("flags %q, want %d mentioning %q", sum.Flags, tc.flags, tc.flagContains)
			}
		})
	}
	if s := Summarize([]string{"m"}, []ImageResult{{Method: "m"}})[0]; s.Sanity != nil || s.Sanity.Verdict() != "-" || s.Flags != nil {
		t.Errorf("without sanity results: %+v", s.Sanity)
	}
	for _, spec := range []string{"params,logit", "all", "none", "", "params"} {
		if _, _, err := ParseSanity(spec); err != nil {
			t.Errorf("ParseSanity(%q): %v", spec, err)
		}
	}
	if _, _, err := ParseSanity("parms"); err == nil || !strings.Contains(err.Error(), "parms") {
		t.Errorf("ParseSanity(parms): %v", err)
	}
	_, m, x := loadShapes(t, 2)
	if _, err := NewSanity(context.Background(), m, 4, SanityConfig{}); !errors.Is(err, ErrSanityArgs) {
		t.Errorf("no checks: %v", err)
	}
	s, err := NewSanity(context.Background(), m, 4, SanityConfig{Logit: true})
	if err != nil {
		t.Fatal(err)
	}
	bad := func(context.Context, map[tf.Output]tfgraph.Feed, []int) ([][]float32, error) { return nil, nil }
	h, w, _ := m.InputSize()
	if _, err := s.Run(context.Background(), x, []int{0, 4}, [][]float32{make([]float32, 2*h*w)}, bad); !errors.Is(err, ErrSanityArgs) || !strings.Contains(err.Error(), "class 4") {
		t.Errorf("class out of range: %v", err)
	}
	if _, err := s.Run(context.Background(), x, []int{0, 1}, [][]float32{make([]float32, h*w)}, bad); !errors.Is(err, ErrSanityArgs) {
		t.Errorf("short maps: %v", err)
	}
}
