package evaluate

import (
	"math"
	"slices"
)

// Sparseness is the Gini index of a map's magnitudes (Chalasani et al.
// 2020; Quantus' Sparseness): with the n values |m| sorted ascending as
// a₁…aₙ, Σᵢ (2i − n − 1)·aᵢ / (n·Σᵢ aᵢ). It is 0 for a flat map and
// (n−1)/n for a single hot pixel: higher means the map picks out fewer
// pixels. An all-zero map counts as flat (0). Cost: a sort of the map.
func Sparseness(m []float32) float64 {
	n := len(m)
	if n == 0 {
		return 0
	}
	a := make([]float64, n)
	for i, v := range m {
		a[i] = math.Abs(float64(v))
	}
	slices.Sort(a)
	var num, sum float64
	for i, v := range a {
		num += float64(2*(i+1)-n-1) * v
		sum += v
	}
	if sum == 0 {
		return 0
	}
	return num / (float64(n) * sum)
}

// Complexity is the entropy, in nats, of a map's fractional contributions
// pᵢ = |mᵢ| / Σ|m| (Bhatt et al. 2020; Quantus' Complexity): ln n for a
// flat map, 0 for a single hot pixel: lower means a simpler explanation.
// An all-zero map counts as flat (ln n). Cost: one pass over the map.
func Complexity(m []float32) float64 {
	var sum float64
	for _, v := range m {
		sum += math.Abs(float64(v))
	}
	if sum == 0 {
		return math.Log(float64(max(len(m), 1)))
	}
	var h float64
	for _, v := range m {
		if p := math.Abs(float64(v)) / sum; p > 0 {
			h -= p * math.Log(p)
		}
	}
	return h
}
