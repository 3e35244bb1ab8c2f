package evaluate

import (
	"errors"
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
// percentage), so it is solved here in Go by conjugate gradients,
// preconditioned by a multigrid V-cycle (multigrid.go; a Jacobi
// preconditioner below multigridFrom unknowns and as the fallback), in
// float64, to a relative residual ‖r‖ ≤
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
	out, _, err := imputeWith(img, h, w, c, removed, noise, rng, true)
	return out, err
}

// imputeWith is impute, with or without the multigrid preconditioner, also
// returning the most conjugate-gradient iterations any channel took.
func imputeWith(img []float32, h, w, c int, removed []bool, noise float64, rng *rand.Rand, useMultigrid bool) ([]float32, int, error) {
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
		return out, 0, nil
	}
	a := &sparse{diag: make([]float64, n), start: make([]int, n+1)}
	ys, xs := make([]int, n), make([]int, n)
	// known[k] lists (pixel, weight) of kept neighbours, for the right-hand side.
	type kept struct {
		p int
		w float64
	}
	knownStart := make([]int, n+1)
	var known []kept
	for k, p := range pix {
		y, x := p/w, p%w
		ys[k], xs[k] = y, x
		for _, nb := range neighbours {
			yy, xx := y+nb.dy, x+nb.dx
			if yy < 0 || yy >= h || xx < 0 || xx >= w {
				continue
			}
			a.diag[k] += nb.w
			q := yy*w + xx
			if j := id[q]; j >= 0 {
				a.cols, a.vals = append(a.cols, j), append(a.vals, -nb.w)
			} else {
				known = append(known, kept{q, nb.w})
			}
		}
		a.start[k+1], knownStart[k+1] = len(a.cols), len(known)
	}
	var mg *multigrid
	if useMultigrid && n >= multigridFrom {
		mg = newMultigrid(a, ys, xs)
	}
	b, v := make([]float64, n), make([]float64, n)
	cg := newCG(n)
	iterations := 0
	for ch := range c {
		var bb float64
		for k := range n {
			var s float64
			for _, kn := range known[knownStart[k]:knownStart[k+1]] {
				s += kn.w * float64(img[kn.p*c+ch])
			}
			b[k] = s
			bb += s * s
		}
		clear(v)
		if bb > 0 {
			it, err := 0, errNotPositive
			if mg != nil {
				it, err = cg.solve(a, mg.precondition, b, v, math.Sqrt(bb), multigridLimit)
			}
			if err != nil { // no hierarchy, or it failed this system
				mg = nil
				if it, err = cg.solve(a, jacobi(a.diag), b, v, math.Sqrt(bb), 10*n+100); err != nil {
					return nil, it, err
				}
			}
			iterations = max(iterations, it)
		}
		for k, p := range pix {
			val := v[k]
			if noise != 0 {
				val += noise * rng.NormFloat64()
			}
			out[p*c+ch] = float32(val)
		}
	}
	return out, iterations, nil
}

// multigridFrom is the system size from which the multigrid preconditioner
// pays for building its hierarchy; multigridLimit the iterations after
// which a multigrid solve gives up for Jacobi's (it takes a few dozen).
const (
	multigridFrom  = 256
	multigridLimit = 300
)

// errNotPositive is a preconditioner that turned out not positive definite
// on the system (rᵀM⁻¹r ≤ 0 with r ≠ 0).
var errNotPositive = errors.New("evaluate: preconditioner not positive definite")

// jacobi is the Jacobi preconditioner z = r / diag.
func jacobi(diag []float64) func(z, r []float64) {
	return func(z, r []float64) {
		for k, d := range diag {
			z[k] = r[k] / d
		}
	}
}

// cg is the scratch of preconditioned conjugate gradients.
type cg struct{ r, z, d, md []float64 }

func newCG(n int) *cg {
	return &cg{make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)}
}

// solve solves A·v = b from v = 0 with the preconditioner, until ‖r‖ ≤
// imputeTolerance·norm (norm = ‖b‖), and returns the iterations taken; at
// most limit, or an error.
func (s *cg) solve(a *sparse, precondition func(z, r []float64), b, v []float64, norm float64, limit int) (int, error) {
	n := len(b)
	r, z, d, md := s.r, s.z, s.d, s.md
	clear(v)
	copy(r, b)
	precondition(z, r)
	copy(d, z)
	var rz float64
	for k := range n {
		rz += r[k] * z[k]
	}
	for it := 1; it <= limit; it++ {
		if !(rz > 0) {
			return it, errNotPositive
		}
		a.mul(md, d)
		var dmd float64
		for k := range n {
			dmd += d[k] * md[k]
		}
		if dmd <= 0 { // only on a singular group's null space: already solved
			return it, nil
		}
		alpha := rz / dmd
		var rr float64
		for k := range n {
			v[k] += alpha * d[k]
			r[k] -= alpha * md[k]
			rr += r[k] * r[k]
		}
		if math.Sqrt(rr) <= imputeTolerance*norm {
			return it, nil
		}
		precondition(z, r)
		var rzNew float64
		for k := range n {
			rzNew += r[k] * z[k]
		}
		beta := rzNew / rz
		rz = rzNew
		for k := range n {
			d[k] = z[k] + beta*d[k]
		}
	}
	return limit, fmt.Errorf("evaluate: ROAD imputation of %d pixels did not converge in %d iterations (relative residual > %g)", n, limit, imputeTolerance)
}
