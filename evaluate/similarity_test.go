package evaluate

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
)

// TestSimilarityReference checks Spearman, SpearmanAbs and SSIM (flattened
// and 2-D) against scipy and skimage through Quantus' own similarity
// functions (scripts/reference_similarity.py) on pairs built to exercise
// ties, signs, ReLU zeros and near-identical maps.
func TestSimilarityReference(t *testing.T) {
	fixture.Need(t) // Python (reference_similarity.py)
	const h, w = 12, 10
	rng := rand.New(rand.NewPCG(16, 1))
	type pair struct {
		name string
		a, b []float32
	}
	gen := func(f func(i int) (float32, float32)) ([]float32, []float32) {
		a, b := make([]float32, h*w), make([]float32, h*w)
		for i := range a {
			a[i], b[i] = f(i)
		}
		return a, b
	}
	var pairs []pair
	add := func(name string, f func(i int) (float32, float32)) {
		a, b := gen(f)
		pairs = append(pairs, pair{name, a, b})
	}
	add("independent", func(int) (float32, float32) { return rng.Float32(), rng.Float32() })
	add("correlated signed", func(int) (float32, float32) {
		x := float32(rng.NormFloat64())
		return x, -0.5*x + 0.3*float32(rng.NormFloat64())
	})
	add("ties", func(int) (float32, float32) {
		return float32(rng.IntN(4)), float32(rng.IntN(3)) - 1
	})
	add("relu zeros", func(i int) (float32, float32) {
		x, y := float32(rng.NormFloat64()), float32(rng.NormFloat64())
		return max(x, 0), max(x+0.5*y, 0)
	})
	add("smooth", func(i int) (float32, float32) {
		y, x := float64(i/w), float64(i%w)
		return float32(math.Exp(-((y-5)*(y-5) + (x-4)*(x-4)) / 8)), float32(math.Exp(-((y-6)*(y-6) + (x-4)*(x-4)) / 10))
	})
	add("near identical", func(int) (float32, float32) {
		x := rng.Float32()
		return x, x + 1e-3*rng.Float32()
	})
	var a, b []float32
	for _, p := range pairs {
		a, b = append(a, p.a...), append(b, p.b...)
	}
	work := t.TempDir()
	for name, v := range map[string][]float32{"a.npy": a, "b.npy": b} {
		if err := npy.WriteFloat32File(filepath.Join(work, name), v, []int{len(pairs), h, w}); err != nil {
			t.Fatal(err)
		}
	}
	fixture.Reference(t, "reference_similarity.py", work)
	raw, err := os.ReadFile(filepath.Join(work, "reference.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != len(pairs) {
		t.Fatalf("%d reference lines for %d pairs", len(lines), len(pairs))
	}
	for k, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			var ref []float64
			for _, f := range strings.Fields(lines[k]) {
				v, err := strconv.ParseFloat(f, 64)
				if err != nil {
					t.Fatal(err)
				}
				ref = append(ref, v)
			}
			x, y := fixture.F64(p.a), fixture.F64(p.b)
			flat, err := SSIM(x, y, h*w)
			if err != nil {
				t.Fatal(err)
			}
			two, err := SSIM(x, y, h, w)
			if err != nil {
				t.Fatal(err)
			}
			got := []float64{Spearman(x, y), SpearmanAbs(x, y), flat, two}
			for i, name := range []string{"Spearman", "Spearman |·|", "SSIM flattened", "SSIM 2-D"} {
				if d := math.Abs(got[i] - ref[i]); !(d <= 1e-6) {
					t.Errorf("%s = %.9f, scipy/skimage %.9f (diff %.2g)", name, got[i], ref[i], d)
				}
			}
		})
	}
}

// TestSimilarityExact checks values exact in exact arithmetic: a map
// against itself, a reversed order, a positive rescaling, and the cases
// where scipy returns NaN.
func TestSimilarityExact(t *testing.T) {
	up := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	tests := []struct {
		name             string
		a, b             []float64
		spearman, absRho float64
	}{
		{"itself", up, up, 1, 1},
		{"reversed", up, []float64{8, 7, 6, 5, 4, 3, 2, 1}, -1, -1},
		{"rescaled", up, []float64{0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4}, 1, 1},
		{"sign flipped", up, []float64{-1, -2, -3, -4, -5, -6, -7, -8}, -1, 1},
		{"constant vs itself", []float64{0, 0, 0, 0}, []float64{0, 0, 0, 0}, 1, 1},
		{"constant vs varying", []float64{0, 0, 0, 0}, []float64{1, 2, 3, 4}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Spearman(tc.a, tc.b); got != tc.spearman {
				t.Errorf("Spearman = %v, want %v", got, tc.spearman)
			}
			if got := SpearmanAbs(tc.a, tc.b); got != tc.absRho {
				t.Errorf("SpearmanAbs = %v, want %v", got, tc.absRho)
			}
		})
	}
	m := make([]float64, 7*9)
	for i := range m {
		m[i] = float64(i % 5)
	}
	if s, err := SSIM(m, m, 7, 9); err != nil || s != 1 {
		t.Errorf("SSIM of a map with itself = %v, %v; want 1", s, err)
	}
	if _, err := SSIM(m, m, 9, 6); err == nil {
		t.Error("SSIM accepted a side shorter than the window")
	}
	if got := Ranks([]float64{3, 1, 3, 2}); got[0] != 3.5 || got[1] != 1 || got[2] != 3.5 || got[3] != 2 {
		t.Errorf("Ranks = %v, want [3.5 1 3.5 2]", got)
	}
}
