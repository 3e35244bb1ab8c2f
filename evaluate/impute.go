package evaluate

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Noisy linear imputation (Rong et al. 2022, ROAD; Quantus'
// noisy_linear_imputation): each removed pixel becomes the weighted mean of
// its 8 neighbours inside the image — weight 1/6 for the 4 direct, 1/12 for
// the 4 diagonal ones, divided by the sum of the weights present — where
// removed neighbours take their own imputed values, plus Gaussian noise.
// For the n removed pixels that is one sparse linear system per channel,
//
//	s_i·v_i − Σ_{j removed, j~i} w_ij·v_j = Σ_{k kept, k~i} w_ik·x_k,
//
// s_i the sum of i's neighbour weights. Its matrix is symmetric and
// diagonally dominant, positive definite whenever every connected group of
// removed pixels touches a kept one. TensorFlow has no sparse solver in its
// C API (tf.linalg.experimental.conjugate_gradient is Python), and the
// system is small and irregular (it changes with every map and
// percentage), so it is solved here in Go by conjugate gradients with a
// Jacobi preconditioner, in float64, to a relative residual ‖r‖ ≤
// imputeTolerance·‖b‖ (Quantus uses a direct solver, scipy's spsolve).
// A group with no kept neighbour (everything removed) gets the minimum-norm
// solution, 0.

// imputeTolerance is the conjugate gradients' relative residual.
const imputeTolerance = 1e-8

// neighbours are the 8 offsets (dy, dx) and their weights.
var neighbours = [8]struct {
	dy, dx int
	w      float64
}{
	{-1, -1, 1.0 / 12}, {-1, 0, 1.0 / 6}, {-1, 1, 1.0 / 12},
	{0, -1, 1.0 / 6}, {0, 1, 1.0 / 6},
	{1, -1, 1.0 / 12}, {1, 0, 1.0 / 6}, {1, 1, 1.0 / 12},
}

// impute returns a copy of img ([h,w,c], channels last) with the pixels
// marked in removed replaced by their noisy linear imputation: the solution
// plus noise·N(0,1) from rng per value (no noise when noise is 0).
func impute(img []float32, h, w, c int, removed []bool, noise float64, rng *rand.Rand) ([]float32, error) {
	out := append([]float32(nil), img...)
	// Unknowns in pixel order; their neighbours in CSR form.
	id := make([]int, h*w)
	var pix []int
	for p, r := range removed {
		id[p] = -1
		if r {
			id[p] = len(pix)
			pix = append(pix, p)
		}
	}
	n := len(pix)
	if n == 0 {
		return out, nil
	}
	diag := make([]float64, n)
	start := make([]int, n+1)
	var cols []int
	var vals []float64
	// known[k] lists (pixel, weight) of kept neighbours, for the right-hand side.
	type kept struct {
		p int
		w float64
	}
	knownStart := make([]int, n+1)
	var known []kept
	for k, p := range pix {
		y, x := p/w, p%w
		for _, nb := range neighbours {
			yy, xx := y+nb.dy, x+nb.dx
			if yy < 0 || yy >= h || xx < 0 || xx >= w {
				continue
			}
			diag[k] += nb.w
			q := yy*w + xx
			if j := id[q]; j >= 0 {
				cols, vals = append(cols, j), append(vals, nb.w)
			} else {
				known = append(known, kept{q, nb.w})
			}
		}
		start[k+1], knownStart[k+1] = len(cols), len(known)
	}
	mul := func(dst, v []float64) { // dst = M·v
		for k := range n {
			s := diag[k] * v[k]
			for e := start[k]; e < start[k+1]; e++ {
				s -= vals[e] * v[cols[e]]
			}
			dst[k] = s
		}
	}
	b, v, r, z, d, md := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for ch := range c {
		var bb float64
		for k := range n {
			var s float64
			for _, kn := range known[knownStart[k]:knownStart[k+1]] {
				s += kn.w * float64(img[kn.p*c+ch])
			}
			b[k], v[k], r[k] = s, 0, s
			bb += s * s
		}
		if bb > 0 {
			if err := conjugateGradients(mul, diag, b, v, r, z, d, md, math.Sqrt(bb)); err != nil {
				return nil, err
			}
		}
		for k, p := range pix {
			val := v[k]
			if noise != 0 {
				val += noise * rng.NormFloat64()
			}
			out[p*c+ch] = float32(val)
		}
	}
	return out, nil
}

// conjugateGradients solves M·v = b from v = 0 (r = b on entry) with the
// Jacobi preconditioner diag, until ‖r‖ ≤ imputeTolerance·norm. z, d, md
// are scratch.
func conjugateGradients(mul func(dst, v []float64), diag, b, v, r, z, d, md []float64, norm float64) error {
	n := len(b)
	var rz float64
	for k := range n {
		z[k] = r[k] / diag[k]
		d[k] = z[k]
		rz += r[k] * z[k]
	}
	limit := 10*n + 100 // exact arithmetic needs at most n
	for it := 0; it < limit; it++ {
		mul(md, d)
		var dmd float64
		for k := range n {
			dmd += d[k] * md[k]
		}
		if dmd <= 0 { // only on a singular group's null space: already solved
			return nil
		}
		alpha := rz / dmd
		var rr, rzNew float64
		for k := range n {
			v[k] += alpha * d[k]
			r[k] -= alpha * md[k]
			rr += r[k] * r[k]
			z[k] = r[k] / diag[k]
			rzNew += r[k] * z[k]
		}
		if math.Sqrt(rr) <= imputeTolerance*norm {
			return nil
		}
		beta := rzNew / rz
		rz = rzNew
		for k := range n {
			d[k] = z[k] + beta*d[k]
		}
	}
	return fmt.Errorf("evaluate: ROAD imputation of %d pixels did not converge in %d iterations (relative residual > %g)", n, limit, imputeTolerance)
}
