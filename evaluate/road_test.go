package evaluate

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
)

// TestImputeClosedForms checks the imputation on images whose fill is
// known by hand: a flat image stays flat; a linear image f = 3y − 2x + 1
// is reproduced exactly in any hole that does not touch the border (the
// 8-neighbour weights are symmetric, so the weighted mean of a linear
// function's neighbours is its value); one removed pixel is the weighted
// mean of its neighbours (interior: weights 1/6 and 1/12 summing to 1;
// corner: 1/6, 1/6, 1/12 renormalised by 5/12).
func TestImputeClosedForms(t *testing.T) {
	const h, w = 9, 11
	linear := make([]float32, h*w*2)
	flat := make([]float32, h*w*2)
	for y := range h {
		for x := range w {
			linear[(y*w+x)*2] = float32(3*y - 2*x + 1)
			linear[(y*w+x)*2+1] = float32(-y + 5*x)
			flat[(y*w+x)*2], flat[(y*w+x)*2+1] = 0.25, -4
		}
	}
	pix := func(y, x int) int { return y*w + x }
	mask := func(ps ...int) []bool {
		m := make([]bool, h*w)
		for _, p := range ps {
			m[p] = true
		}
		return m
	}
	hole := func(y0, y1, x0, x1 int) []bool { // inclusive block
		m := make([]bool, h*w)
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				m[pix(y, x)] = true
			}
		}
		return m
	}
	// Hand-computed fills of one removed pixel of the linear image, channel 0.
	at := func(y, x int) float64 { return float64(3*y - 2*x + 1) }
	cases := []struct {
		name    string
		img     []float32
		removed []bool
		want    map[int]float64 // pixel → channel-0 value; nil: the image itself
	}{
		{"flat, most pixels removed", flat, hole(0, h-1, 1, w-1), nil},
		{"linear, 5x7 interior hole", linear, hole(2, 6, 2, 8), nil},
		{"linear, scattered interior pixels", linear, mask(pix(1, 1), pix(4, 5), pix(4, 6), pix(7, 9)), nil},
		{"linear, corner pixel", linear, mask(pix(0, 0)), map[int]float64{
			pix(0, 0): (at(0, 1)/6 + at(1, 0)/6 + at(1, 1)/12) / (5.0 / 12)}},
		{"linear, edge pixel", linear, mask(pix(0, 4)), map[int]float64{
			pix(0, 4): (at(0, 3)/6 + at(0, 5)/6 + at(1, 4)/6 + at(1, 3)/12 + at(1, 5)/12) / (2.0 / 3)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := impute(tc.img, h, w, 2, tc.removed, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			for p := range h * w {
				for ch := range 2 {
					want := float64(tc.img[p*2+ch])
					if v, ok := tc.want[p]; ok && ch == 0 {
						want = v
					} else if tc.want != nil && tc.removed[p] {
						continue
					}
					if d := math.Abs(float64(got[p*2+ch]) - want); d > 1e-5 {
						t.Fatalf("pixel (%d,%d) channel %d: %g, want %g", p/w, p%w, ch, got[p*2+ch], want)
					}
				}
			}
		})
	}
}

// TestImputeNoise checks the noise: the same seed gives the same values,
// and the noisy fill differs from the noise-free one by N(0, σ²) (sample
// standard deviation within 5 % of σ over ~3000 values, mean within 4
// standard errors of 0).
func TestImputeNoise(t *testing.T) {
	const h, w, c, sigma = 40, 40, 2, 0.05
	img := make([]float32, h*w*c)
	for i := range img {
		img[i] = float32(math.Sin(float64(i) / 7))
	}
	removed := make([]bool, h*w)
	for p := range removed {
		removed[p] = p%2 == 0
	}
	clean, err := impute(img, h, w, c, removed, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := impute(img, h, w, c, removed, sigma, rand.New(rand.NewPCG(1, 2)))
	b, _ := impute(img, h, w, c, removed, sigma, rand.New(rand.NewPCG(1, 2)))
	var sum, sq float64
	n := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("value %d: %g and %g from the same seed", i, a[i], b[i])
		}
		d := float64(a[i]) - float64(clean[i])
		if !removed[i/c] {
			if d != 0 {
				t.Fatalf("kept value %d changed by %g", i, d)
			}
			continue
		}
		sum, sq, n = sum+d, sq+d*d, n+1
	}
	mean := sum / float64(n)
	std := math.Sqrt(sq/float64(n) - mean*mean)
	if math.Abs(std-sigma) > 0.05*sigma || math.Abs(mean) > 4*sigma/math.Sqrt(float64(n)) {
		t.Errorf("noise over %d values: mean %.3g, std %.4g; want 0 and %g", n, mean, std, sigma)
	}
}

// TestROADMatchesQuantus compares ROAD with Quantus 0.5.3
// (scripts/peer_road.py) on the shapes model, 16 evaluation images, their
// Grad-CAM maps made tie-free (untie), noise 0: the imputed images with
// Quantus' noisy_linear_imputation (a direct solve; ours stops at a
// relative residual of 1e-8) within 1e-5 (measured 6e-8); the
// probabilities with the Keras model on Quantus' images within 1e-5
// (TensorFlow graph vs Keras, float32); whether the class stays on top per
// image, where the top two differ by more than 1e-5; and Quantus' ROAD
// accuracy curve (MoRF) as the mean of ours.
func TestROADMatchesQuantus(t *testing.T) {
	const n, tol = 16, 1e-5
	percentages := []float64{1, 2, 5, 20, 80}
	f, m, x := loadShapes(t, n)
	h, w, c := m.InputSize()
	hw := h * w
	ex, err := explainer.New(m, explainer.Config{Methods: []explainer.Method{explainer.GradCAM{}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ex.Explain(context.Background(), explainer.Batch{Pixels: x, N: n}, explainer.Top1())
	if err != nil {
		t.Fatal(err)
	}
	var raw []float32
	classes, targets := make([]int, n), make([]float32, n)
	for i := range res {
		raw = append(raw, res[i].Maps[0][0].Normalized...)
		classes[i] = res[i].Maps[0][0].Class
		targets[i] = float32(classes[i])
	}
	maps := untie(raw, hw)
	work := t.TempDir()
	for name, v := range map[string]struct {
		data  []float32
		shape []int
	}{"inputs": {x, []int{n, h, w, c}}, "maps": {maps, []int{n, h, w}}, "targets": {targets, []int{n}}} {
		if err := npy.WriteFloat32File(filepath.Join(work, name+".npy"), v.data, v.shape); err != nil {
			t.Fatal(err)
		}
	}
	var ps []string
	for _, p := range percentages {
		ps = append(ps, fmt.Sprint(p))
	}
	fixture.Python(t, "peer_road.py", f.Dir, work, strings.Join(ps, ","))

	road, err := NewROAD(m, ROADConfig{Percentages: percentages, RunImages: 7})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := road.imputeAll(context.Background(), x, maps, classes)
	if err != nil {
		t.Fatal(err)
	}
	imputed, err := npy.ReadFile(filepath.Join(work, "imputed.npy"))
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for k, row := range rows {
		for i, v := range row {
			worst = math.Max(worst, math.Abs(float64(v)-float64(imputed.F32[k*h*w*c+i])))
		}
	}
	if worst > tol {
		t.Errorf("imputed images: max difference from Quantus %.3g > %g", worst, tol)
	} else {
		t.Logf("imputed images: max difference from Quantus %.2g", worst)
	}

	got, err := road.Run(context.Background(), x, maps, classes)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := npy.ReadFile(filepath.Join(work, "probs.npy"))
	if err != nil {
		t.Fatal(err)
	}
	var qs struct {
		MoRF []float64 `json:"morf_accuracy"`
	}
	raw2, err := os.ReadFile(filepath.Join(work, "quantus.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw2, &qs); err != nil {
		t.Fatal(err)
	}
	np, k := len(percentages), probs.Shape[2]
	worst = 0
	flips, undecided := 0, 0
	accuracy := make([]float64, np)
	undecidedAt := make([]int, np)
	for i, r := range got {
		for j := range 2 * np {
			p := probs.F32[(i*2*np+j)*k : (i*2*np+j+1)*k]
			prob, top := r.MoRF, r.MoRFTop
			if j >= np {
				prob, top = r.LeRF, r.LeRFTop
			}
			worst = math.Max(worst, math.Abs(prob[j%np]-float64(p[classes[i]])))
			if j < np && top[j] {
				accuracy[j] += 1.0 / n
			}
			if margin(p) <= tol {
				undecided++
				if j < np {
					undecidedAt[j]++
				}
			} else if top[j%np] != (argmax(p) == classes[i]) {
				flips++
			}
		}
	}
	if worst > tol {
		t.Errorf("probabilities: max difference from Keras on Quantus' images %.3g > %g", worst, tol)
	} else {
		t.Logf("probabilities: max difference from Keras on Quantus' images %.2g", worst)
	}
	if flips > 0 {
		t.Errorf("top class kept: %d of %d images×steps disagree with Keras on Quantus' images", flips, n*2*np-undecided)
	}
	if len(qs.MoRF) != np {
		t.Fatalf("quantus.json: %d accuracies, want %d", len(qs.MoRF), np)
	}
	for j := range np {
		if d := math.Abs(accuracy[j] - qs.MoRF[j]); d > float64(undecidedAt[j])/n+1e-12 {
			t.Errorf("MoRF accuracy at %g%%: %.4f, Quantus' ROAD %.4f", percentages[j], accuracy[j], qs.MoRF[j])
		}
	}
	t.Logf("MoRF accuracy %v (Quantus %v); %d undecided of %d", accuracy, qs.MoRF, undecided, n*2*np)
}

// margin is the gap between the two largest values.
func margin(p []float32) float64 {
	a, b := math.Inf(-1), math.Inf(-1)
	for _, v := range p {
		if f := float64(v); f > a {
			a, b = f, a
		} else if f > b {
			b = f
		}
	}
	return a - b
}

// BenchmarkImpute imputes a 64×64×3 image (the shapes input) with 50 % and
// 90 % of its pixels removed in a random order, and a 224×224×3 one with
// compact holes (blobRemoval) by both preconditioners.
func BenchmarkImpute(b *testing.B) {
	const h, w, c = 64, 64, 3
	img := make([]float32, h*w*c)
	for i := range img {
		img[i] = float32(math.Sin(float64(i) / 11))
	}
	rng := rand.New(rand.NewPCG(1, 1))
	order := rng.Perm(h * w)
	for _, pct := range []int{50, 90} {
		removed := make([]bool, h*w)
		for _, p := range order[:h*w*pct/100] {
			removed[p] = true
		}
		b.Run(fmt.Sprint(pct, "%"), func(b *testing.B) {
			for b.Loop() {
				if _, err := impute(img, h, w, c, removed, 0.01, rng); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// A 224-px image with the compact holes MoRF cuts, with and without
	// the multigrid preconditioner.
	const H, W = 224, 224
	big := make([]float32, H*W*c)
	for i := range big {
		big[i] = float32(math.Sin(float64(i) / 11))
	}
	for _, pct := range []int{50, 90} {
		removed := blobRemoval(H, W, pct)
		for _, mg := range []bool{true, false} {
			name := fmt.Sprintf("224px-blob-%d%%/jacobi", pct)
			if mg {
				name = fmt.Sprintf("224px-blob-%d%%/multigrid", pct)
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					if _, _, err := imputeWith(big, H, W, c, removed, 0.01, rng, mg); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// blobRemoval marks the share pct of an h×w grid's pixels in descending
// order of a smooth bump centred off-centre: the compact hole that MoRF
// cuts out of a CAM-like map, the hard case for the imputation's solver.
func blobRemoval(h, w, pct int) []bool {
	m := make([]float32, h*w)
	for y := range h {
		for x := range w {
			dy, dx := float64(y)-0.4*float64(h), float64(x)-0.55*float64(w)
			m[y*w+x] = float32(math.Exp(-(dy*dy + dx*dx) / float64(h*w)))
		}
	}
	removed := make([]bool, h*w)
	for _, p := range rankOrder(m)[:h*w*pct/100] {
		removed[p] = true
	}
	return removed
}

// TestImputeMultigrid checks the multigrid-preconditioned solve: a linear
// image is reproduced exactly in a large interior hole (see
// TestImputeClosedForms); on a smooth image with compact holes it gives the
// Jacobi-preconditioned solution (both to the solver's tolerance), and in
// at most 40 iterations where Jacobi's takes hundreds (an algorithmic bound,
// not a timing: the cycle's count does not depend on the machine).
func TestImputeMultigrid(t *testing.T) {
	const h, w, c = 96, 96, 3
	linear := make([]float32, h*w*c)
	smooth := make([]float32, h*w*c)
	for y := range h {
		for x := range w {
			for ch := range c {
				linear[(y*w+x)*c+ch] = float32(3*y - 2*x + ch)
				smooth[(y*w+x)*c+ch] = float32(math.Sin(float64(y)/9+float64(ch)) * math.Cos(float64(x)/13))
			}
		}
	}
	interior := make([]bool, h*w)
	for y := 10; y < h-10; y++ {
		for x := 12; x < w-9; x++ {
			interior[y*w+x] = true
		}
	}
	got, it, err := imputeWith(linear, h, w, c, interior, 0, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if d := math.Abs(float64(v) - float64(linear[i])); d > 1e-4 {
			t.Fatalf("linear image, interior hole: value %d is %g, want %g (%d iterations)", i, v, linear[i], it)
		}
	}
	for _, pct := range []int{10, 50, 90} {
		removed := blobRemoval(h, w, pct)
		mg, itMG, err := imputeWith(smooth, h, w, c, removed, 0, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		jac, itJac, err := imputeWith(smooth, h, w, c, removed, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i := range mg {
			worst = math.Max(worst, math.Abs(float64(mg[i])-float64(jac[i])))
		}
		t.Logf("%d%% removed: %d iterations with multigrid, %d with Jacobi; max difference %.2g", pct, itMG, itJac, worst)
		if worst > 1e-6 || itMG > 40 {
			t.Errorf("%d%% removed: multigrid differs from Jacobi by %.3g (want ≤ 1e-6) after %d iterations (want ≤ 40)", pct, worst, itMG)
		}
	}
}
