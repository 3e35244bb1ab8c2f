package evaluate

import (
	"fmt"
	"math"
	"sort"
)

// Similarity measures of two maps, as the sanity checks compare the map of
// the original model with that of a randomised one (or of another class).

// Spearman is Spearman's rank correlation of a and b: the Pearson
// correlation of their ranks, tied values getting the mean of the ranks
// they span (scipy.stats.spearmanr, Quantus' correlation_spearman). Where
// scipy returns NaN because a or b is constant, Spearman returns 1 when a
// and b are equal and 0 otherwise: a constant map (a ReLU map gone all
// zero) carries no order that could match. a and b must have the same
// length.
func Spearman(a, b []float64) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	ra, rb := Ranks(a), Ranks(b)
	r := pearson(ra, rb)
	if math.IsNaN(r) {
		if equal(a, b) {
			return 1
		}
		return 0
	}
	return r
}

// SpearmanAbs is Spearman of |a| and |b|: Quantus' default for the
// model-parameter randomisation test (abs=True), which ignores the sign of
// signed maps (gradients, Guided Backprop).
func SpearmanAbs(a, b []float64) float64 {
	return Spearman(absAll(a), absAll(b))
}

// Ranks are the 1-based ranks of x, ties averaged (scipy.stats.rankdata's
// "average").
func Ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return x[idx[i]] < x[idx[j]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return math.NaN()
	}
	return sab / math.Sqrt(saa*sbb)
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func absAll(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Abs(v)
	}
	return out
}

// SSIMWindow is skimage's default window side (win_size=7), which Quantus
// keeps.
const SSIMWindow = 7

// SSIM is the mean structural similarity of a and b of the given shape
// (1-D or 2-D, row-major), as skimage.metrics.structural_similarity
// computes it with Quantus' settings: a uniform 7-wide window (7×7 in 2-D)
// with reflected borders (scipy's "reflect"), sample covariances (N/(N−1)),
// K1 = 0.01, K2 = 0.03, data range max(a∪b) − min(a∪b), and the mean over
// the positions at least 3 away from every border. Quantus' ssim compares
// flattened maps, so the sanity checks call it with shape {len(a)}. Equal
// inputs give 1, also when constant (skimage: NaN).
func SSIM(a, b []float64, shape ...int) (float64, error) {
	n := 1
	for _, d := range shape {
		if d < SSIMWindow {
			return 0, fmt.Errorf("evaluate: SSIM of shape %v: every side must be at least %d (the window)", shape, SSIMWindow)
		}
		n *= d
	}
	if len(shape) == 0 || len(shape) > 2 || len(a) != n || len(b) != n {
		return 0, fmt.Errorf("evaluate: SSIM of %d and %d values as shape %v: want 1-D or 2-D maps of that size", len(a), len(b), shape)
	}
	if equal(a, b) {
		return 1, nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range a {
		lo, hi = math.Min(lo, math.Min(a[i], b[i])), math.Max(hi, math.Max(a[i], b[i]))
	}
	r := hi - lo
	np := math.Pow(SSIMWindow, float64(len(shape)))
	cov := np / (np - 1)
	prod := func(x, y []float64) []float64 {
		out := make([]float64, len(x))
		for i := range x {
			out[i] = x[i] * y[i]
		}
		return out
	}
	ux, uy := boxFilter(a, shape), boxFilter(b, shape)
	uxx, uyy, uxy := boxFilter(prod(a, a), shape), boxFilter(prod(b, b), shape), boxFilter(prod(a, b), shape)
	c1, c2 := (0.01*r)*(0.01*r), (0.03*r)*(0.03*r)
	pad := (SSIMWindow - 1) / 2
	rows, cols := 1, shape[0]
	if len(shape) == 2 {
		rows, cols = shape[0], shape[1]
	}
	var sum float64
	count := 0
	for y := 0; y < rows; y++ {
		if len(shape) == 2 && (y < pad || y >= rows-pad) {
			continue
		}
		for x := pad; x < cols-pad; x++ {
			i := y*cols + x
			vx := cov * (uxx[i] - ux[i]*ux[i])
			vy := cov * (uyy[i] - uy[i]*uy[i])
			vxy := cov * (uxy[i] - ux[i]*uy[i])
			sum += (2*ux[i]*uy[i] + c1) * (2*vxy + c2) / ((ux[i]*ux[i] + uy[i]*uy[i] + c1) * (vx + vy + c2))
			count++
		}
	}
	return sum / float64(count), nil
}

// boxFilter is scipy.ndimage.uniform_filter with size SSIMWindow and mode
// "reflect" (d c b a | a b c d | d c b a) along each axis of x.
func boxFilter(x []float64, shape []int) []float64 {
	rows, cols := 1, shape[0]
	if len(shape) == 2 {
		rows, cols = shape[0], shape[1]
	}
	out := make([]float64, len(x))
	line := func(get func(int) float64, set func(int, float64), n int) {
		h := SSIMWindow / 2
		for i := 0; i < n; i++ {
			var s float64
			for k := i - h; k <= i+h; k++ {
				s += get(mirror(k, n))
			}
			set(i, s/SSIMWindow)
		}
	}
	for y := 0; y < rows; y++ {
		line(func(i int) float64 { return x[y*cols+i] }, func(i int, v float64) { out[y*cols+i] = v }, cols)
	}
	if len(shape) == 2 {
		tmp := append([]float64(nil), out...)
		for c := 0; c < cols; c++ {
			line(func(i int) float64 { return tmp[i*cols+c] }, func(i int, v float64) { out[i*cols+c] = v }, rows)
		}
	}
	return out
}

// mirror maps index k onto [0,n) by half-sample symmetric reflection.
func mirror(k, n int) int {
	for k < 0 || k >= n {
		if k < 0 {
			k = -k - 1
		}
		if k >= n {
			k = 2*n - k - 1
		}
	}
	return k
}

// NormaliseByMax divides x by max|x| (Quantus' normalise_by_max, applied
// to each map before SSIM); all zeros stay zeros.
func NormaliseByMax(x []float64) []float64 {
	var m float64
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	out := make([]float64, len(x))
	if m == 0 {
		return out
	}
	for i, v := range x {
		out[i] = v / m
	}
	return out
}
