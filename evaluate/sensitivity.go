package evaluate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// Max-sensitivity (Yeh et al. 2019, "On the (In)fidelity and Sensitivity of
// Explanations"; Quantus' MaxSensitivity with its defaults: uniform noise,
// Frobenius norms, difference): for each image x with map e(x),
//
//	max over n samples δ of ‖e(x) − e(x+δ)‖ / ‖e(x)‖,
//
// δ uniform in [−r, r) per input value (all channels), drawn from a seeded
// generator, x+δ not clipped, e(x+δ) explaining the same class. The maps
// are the normalised ones tfcam shows (min–max to [0,1]), so the score says
// how much the displayed map changes under input noise the model should
// not care about: lower is better, 0 for a map that does not move. A map
// that is all zeros has no sensitivity (the ratio is undefined).

// ExplainFunc explains n images (pixels [n,H,W,C], preprocessed as the
// model expects) for the given classes and returns their normalised maps
// [n,H,W]. The command passes its explainer; the evaluate package does not
// explain images itself.
type ExplainFunc func(ctx context.Context, pixels []float32, classes []int) ([]float32, error)

// SensitivityConfig chooses the perturbations of MaxSensitivity.
type SensitivityConfig struct {
	// Samples is the number of perturbations per image (default 10;
	// Quantus' default is 200).
	Samples int
	// Radius is r, the half-width of the uniform noise in the model's input
	// units (default 0.02, 2 % of a unit-range input; Quantus' default
	// lower_bound is 0.2).
	Radius float64
	// Seed seeds the noise; each image's noise also depends on its pixels
	// and class, never on its position in a batch or on the method.
	Seed uint64
}

func (c *SensitivityConfig) defaults() error {
	if c.Samples == 0 {
		c.Samples = 10
	}
	if c.Radius == 0 {
		c.Radius = 0.02
	}
	if c.Samples < 1 || !(c.Radius > 0 && c.Radius < math.Inf(1)) {
		return fmt.Errorf("evaluate: max-sensitivity needs samples >= 1 (have %d) and a finite radius > 0 (have %g)", c.Samples, c.Radius)
	}
	return nil
}

// MaxSensitivity returns each image's max-sensitivity (NaN for an all-zero
// map): pixels [n,H,W,C] with h·w·c values per image, maps [n,H,W] their
// normalised maps, classes the explained classes. It calls explain once
// per sample with all n perturbed images. It is MaxSensitivityAll for one
// method.
func MaxSensitivity(ctx context.Context, explain ExplainFunc, pixels, maps []float32, classes []int, h, w, c int, cfg SensitivityConfig) ([]float64, error) {
	all := func(ctx context.Context, pixels []float32, classes []int) ([][]float32, error) {
		m, err := explain(ctx, pixels, classes)
		return [][]float32{m}, err
	}
	out, err := MaxSensitivityAll(ctx, all, pixels, [][]float32{maps}, classes, h, w, c, cfg)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// ExplainAllFunc is ExplainFunc for several methods at once: the
// normalised maps [n,H,W] of each method, in the order of the maps given
// to MaxSensitivityAll.
type ExplainAllFunc func(ctx context.Context, pixels []float32, classes []int) ([][]float32, error)

// MaxSensitivityAll is MaxSensitivity of several methods on the same
// perturbed images: maps[method] are the methods' normalised maps [n,H,W]
// and the result is [method][image]. Each image's noise depends on the
// seed, its pixels and its class, not on the method, so every method is
// measured under the same perturbations and one explanation of all
// methods per sample serves them all (Samples explanations, not
// methods × Samples).
func MaxSensitivityAll(ctx context.Context, explain ExplainAllFunc, pixels []float32, maps [][]float32, classes []int, h, w, c int, cfg SensitivityConfig) ([][]float64, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	n, hw, chw := len(classes), h*w, h*w*c
	if n == 0 || len(pixels) != n*chw || len(maps) == 0 {
		return nil, fmt.Errorf("evaluate: max-sensitivity: %d pixel values and %d methods for %d images of %dx%dx%d", len(pixels), len(maps), n, h, w, c)
	}
	rngs := make([]*rand.Rand, n)
	for i := range n {
		rngs[i] = sensitivityRand(cfg.Seed, pixels[i*chw:(i+1)*chw], classes[i])
	}
	norms := make([][]float64, len(maps))
	out := make([][]float64, len(maps))
	for j, m := range maps {
		if len(m) != n*hw {
			return nil, fmt.Errorf("evaluate: max-sensitivity: method %d has %d map values for %d maps of %dx%d", j, len(m), n, h, w)
		}
		norms[j], out[j] = make([]float64, n), make([]float64, n)
		for i := range n {
			for _, v := range m[i*hw : (i+1)*hw] {
				norms[j][i] += float64(v) * float64(v)
			}
			norms[j][i] = math.Sqrt(norms[j][i])
			if norms[j][i] == 0 {
				out[j][i] = math.NaN()
			}
		}
	}
	perturbed := make([]float32, len(pixels))
	for range cfg.Samples {
		for i := range n {
			perturbNoise(perturbed[i*chw:(i+1)*chw], pixels[i*chw:(i+1)*chw], rngs[i], cfg.Radius)
		}
		got, err := explain(ctx, perturbed, classes)
		if err != nil {
			return nil, err
		}
		if len(got) != len(maps) {
			return nil, fmt.Errorf("evaluate: max-sensitivity: the explainer returned maps of %d methods, want %d", len(got), len(maps))
		}
		for j, m := range maps {
			if len(got[j]) != n*hw {
				return nil, fmt.Errorf("evaluate: max-sensitivity: the explainer returned %d map values for %d maps of %dx%d", len(got[j]), n, h, w)
			}
			for i := range n {
				if norms[j][i] == 0 {
					continue
				}
				var d float64
				for p, v := range m[i*hw : (i+1)*hw] {
					e := float64(v) - float64(got[j][i*hw+p])
					d += e * e
				}
				out[j][i] = math.Max(out[j][i], math.Sqrt(d)/norms[j][i])
			}
		}
	}
	return out, nil
}

// sensitivityRand is an image's noise stream: the same for every method.
func sensitivityRand(seed uint64, img []float32, class int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, imageKey(img, nil, class)^0x5e45))
}

// perturbNoise sets dst to src + δ, δ uniform in [−r, r) per value.
func perturbNoise(dst, src []float32, rng *rand.Rand, r float64) {
	for k, v := range src {
		dst[k] = float32(float64(v) + r*(2*rng.Float64()-1))
	}
}
