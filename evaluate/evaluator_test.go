package evaluate

import (
	"context"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/tfgraph"
)

// loadShapes opens the shapes fixture model and n of its evaluation images.
func loadShapes(t *testing.T, n int) (*fixture.Fixture, *tfgraph.Model, []float32) {
	t.Helper()
	f := fixture.Load(t, "shapes")
	m, err := tfgraph.Load(f.ModelDir, tfgraph.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	imgs := f.Array(t, "eval_images")
	per := imgs.Shape[1] * imgs.Shape[2] * imgs.Shape[3]
	return f, m, imgs.F32[:n*per]
}

// refBaseline is the baseline image computed in Go.
func refBaseline(x []float32, h, w, c int, b Baseline, sigma float64) []float32 {
	out := make([]float32, len(x))
	switch b {
	case Mean:
		for k := 0; k < c; k++ {
			var sum float64
			for p := 0; p < h*w; p++ {
				sum += float64(x[p*c+k])
			}
			for p := 0; p < h*w; p++ {
				out[p*c+k] = float32(sum / float64(h*w))
			}
		}
	case Blur:
		r := min(int(math.Ceil(3*sigma)), h-1, w-1)
		g := make([]float64, 2*r+1)
		var s float64
		for i := range g {
			g[i] = math.Exp(-float64((i-r)*(i-r)) / (2 * sigma * sigma))
			s += g[i]
		}
		reflect := func(i, n int) int { // TensorFlow's REFLECT: the edge is not repeated
			if i < 0 {
				return -i
			}
			if i >= n {
				return 2*(n-1) - i
			}
			return i
		}
		tmp := make([]float64, len(x))
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				for k := 0; k < c; k++ {
					var v float64
					for i := -r; i <= r; i++ {
						v += g[i+r] / s * float64(x[(y*w+reflect(xx+i, w))*c+k])
					}
					tmp[(y*w+xx)*c+k] = v
				}
			}
		}
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				for k := 0; k < c; k++ {
					var v float64
					for i := -r; i <= r; i++ {
						v += g[i+r] / s * tmp[(reflect(y+i, h)*w+xx)*c+k]
					}
					out[(y*w+xx)*c+k] = float32(v)
				}
			}
		}
	}
	return out
}

// refImages builds, in Go, the images the evaluator runs for one image:
// deletion and insertion at every count (order: map descending, equal
// values by index), then the masked image.
func refImages(x, m []float32, h, w, c int, base []float32, counts []int) [][]float32 {
	order := make([]int, h*w)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return m[order[a]] > m[order[b]] })
	var del, ins [][]float32
	for _, n := range counts {
		d, in := append([]float32(nil), x...), append([]float32(nil), base...)
		for _, p := range order[:n] {
			copy(d[p*c:(p+1)*c], base[p*c:(p+1)*c])
			copy(in[p*c:(p+1)*c], x[p*c:(p+1)*c])
		}
		del, ins = append(del, d), append(ins, in)
	}
	masked := make([]float32, len(x))
	for p := 0; p < h*w; p++ {
		for k := 0; k < c; k++ {
			masked[p*c+k] = base[p*c+k] + m[p]*(x[p*c+k]-base[p*c+k])
		}
	}
	return append(append(del, ins...), masked)
}

// TestRunMatchesGoReference checks the in-graph perturbations (exact
// ranks with ties, the three baselines, chunking of images and steps)
// against images built in Go and run through the plain model.
func TestRunMatchesGoReference(t *testing.T) {
	const n = 3
	_, m, x := loadShapes(t, n)
	h, w, c := m.InputSize()
	hw := h * w
	// Maps with many ties (50 levels), and a flat one (order = pixel index).
	maps := make([]float32, n*hw)
	for p := 0; p < hw; p++ {
		maps[p] = float32((p*7919)%50) / 49
		maps[hw+p] = float32(p%64) / 63 * float32(p/64) / 63
	}
	classes := []int{0, 3, 1}
	cases := []struct {
		baseline  Baseline
		steps     int
		runImages int
	}{
		{Zero, 5, 128},
		{Mean, 4, 4}, // one step of one image per run
		{Blur, 3, 9},
	}
	for _, tc := range cases {
		t.Run(string(tc.baseline), func(t *testing.T) {
			e, err := New(m, Config{Steps: tc.steps, Baseline: tc.baseline, RunImages: tc.runImages})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Run(context.Background(), x, maps, classes)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for i := 0; i < n; i++ {
				xi, mi := x[i*hw*c:(i+1)*hw*c], maps[i*hw:(i+1)*hw]
				imgs := refImages(xi, mi, h, w, c, refBaseline(xi, h, w, c, tc.baseline, e.Config().BlurSigma), e.Counts())
				var flat []float32
				for _, im := range imgs {
					flat = append(flat, im...)
				}
				probs, k, err := m.Predict(context.Background(), append(flat, xi...), len(imgs)+1)
				if err != nil {
					t.Fatal(err)
				}
				score := func(row int) float64 { return float64(probs[row*k+classes[i]]) }
				want := Faithfulness{Class: classes[i], Base: score(len(imgs)), Masked: score(len(imgs) - 1)}
				for s := 0; s <= tc.steps; s++ {
					want.Deletion = append(want.Deletion, score(s))
					want.Insertion = append(want.Insertion, score(tc.steps+1+s))
				}
				g := got[i]
				diffs := []float64{math.Abs(g.Base - want.Base), math.Abs(g.Masked - want.Masked)}
				for s := range want.Deletion {
					diffs = append(diffs, math.Abs(g.Deletion[s]-want.Deletion[s]), math.Abs(g.Insertion[s]-want.Insertion[s]))
				}
				for _, d := range diffs {
					worst = math.Max(worst, d)
				}
				if g.Class != classes[i] || len(g.Deletion) != tc.steps+1 {
					t.Errorf("image %d: class %d, %d deletion points; want %d, %d", i, g.Class, len(g.Deletion), classes[i], tc.steps+1)
				}
			}
			if worst > 2e-5 {
				t.Errorf("max difference from the Go reference %.3g > 2e-5", worst)
			} else {
				t.Logf("max difference from the Go reference %.2g", worst)
			}
			// Both curves end at the other one's start, and deletion starts at
			// the image itself, whatever the map.
			for i, g := range got {
				if math.Abs(g.Deletion[0]-g.Base) > 2e-5 || math.Abs(g.Insertion[tc.steps]-g.Base) > 2e-5 || math.Abs(g.Insertion[0]-g.Deletion[tc.steps]) > 2e-5 {
					t.Errorf("image %d: base %g, deletion %g…%g, insertion %g…%g: the endpoints disagree", i, g.Base, g.Deletion[0], g.Deletion[tc.steps], g.Insertion[0], g.Insertion[tc.steps])
				}
			}
		})
	}
}

func TestNewAndRunErrors(t *testing.T) {
	_, m, x := loadShapes(t, 1)
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Steps: -1}, "steps >= 1"},
		{Config{Steps: 5000}, "at most one step per pixel"},
		{Config{Baseline: "noise"}, "unknown baseline"},
		{Config{RunImages: 2}, "images per run >= 4"},
	}
	for _, c := range cases {
		if _, err := New(m, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v): %v, want an error containing %q", c.cfg, err, c.want)
		}
	}
	e, err := New(m, Config{Steps: 2})
	if err != nil {
		t.Fatal(err)
	}
	maps := make([]float32, 64*64)
	for _, c := range []struct {
		maps    []float32
		classes []int
		want    string
	}{
		{maps[:10], []int{0}, "maps"},
		{maps, []int{7}, "out of range"},
		{maps, nil, "for 0 classes"},
	} {
		if _, err := e.Run(context.Background(), x, c.maps, c.classes); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%d map values, classes %v): %v, want an error containing %q", len(c.maps), c.classes, err, c.want)
		}
	}
}
