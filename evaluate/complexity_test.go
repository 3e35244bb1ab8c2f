package evaluate

import (
	"math"
	"testing"
)

// TestSparsenessAndComplexity checks both against closed forms: a flat
// map, one hot pixel, k equal hot pixels among n (Gini (n−k)/n, entropy
// ln k), the two-level map {1 × (n−1), n−1 once} (Gini (n−2)/(2n)·…,
// computed below by hand), sign and scale invariance.
func TestSparsenessAndComplexity(t *testing.T) {
	const n = 100
	hot := func(k int, v float32) []float32 {
		m := make([]float32, n)
		for i := 0; i < k; i++ {
			m[i*7%n] = v
		}
		return m
	}
	flat := make([]float32, n)
	for i := range flat {
		flat[i] = 0.3
	}
	// Two levels: n−1 ones and one value n−1; Σ = 2(n−1). Sorted, the
	// large value is last (i = n): Gini = [Σ_{i<n}(2i−n−1) + (n−1)(n−1)] /
	// (n·2(n−1)) = [−(n−1) + (n−1)²] / (2n(n−1)) = (n−2)/(2n).
	// Entropy: p = 1/(2(n−1)) for n−1 pixels and ½ for one:
	// ½·ln(2(n−1)) + ½·ln 2.
	two := make([]float32, n)
	for i := range two {
		two[i] = 1
	}
	two[42] = n - 1
	cases := []struct {
		name       string
		m          []float32
		gini, nats float64
	}{
		{"flat", flat, 0, math.Log(n)},
		{"zero", make([]float32, n), 0, math.Log(n)},
		{"one hot", hot(1, 1), float64(n-1) / n, 0},
		{"ten hot", hot(10, 0.5), float64(n-10) / n, math.Log(10)},
		{"ten hot, negative", hot(10, -2), float64(n-10) / n, math.Log(10)},
		{"two levels", two, float64(n-2) / (2 * n), 0.5*math.Log(2*(n-1)) + 0.5*math.Log(2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if g := Sparseness(tc.m); math.Abs(g-tc.gini) > 1e-12 {
				t.Errorf("Sparseness = %.15f, want %.15f", g, tc.gini)
			}
			if h := Complexity(tc.m); math.Abs(h-tc.nats) > 1e-12 {
				t.Errorf("Complexity = %.15f, want %.15f", h, tc.nats)
			}
		})
	}
}
