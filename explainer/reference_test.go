package explainer

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
)

// checkMap compares a normalised map with its reference: max-abs within tol,
// outside the kink envelope when variants (the reference on the kink
// variants of the input) are given.
func checkMap(t *testing.T, what string, got, ref []float32, variants [][]float32, tol float64) {
	t.Helper()
	if variants == nil {
		if d := fixture.MaxAbsDiff(got, ref); d > tol || math.IsNaN(d) {
			t.Errorf("%s: max |go - reference| = %.3g > %g", what, d, tol)
		} else {
			t.Logf("%s: max |go - reference| = %.2g", what, d)
		}
		return
	}
	var vs [][]float64
	for _, v := range variants {
		vs = append(vs, fixture.F64(v))
	}
	r := fixture.F64(ref)
	fixture.CheckKinks(t, what, fixture.F64(got), r, fixture.KinkEnvelope(r, vs), tol)
}

// TestMethodsMatchPythonReference compares every method on every fixture
// with scripts/reference_cams.py: the papers' formulas in numpy, applied to
// activations and gradients from tf.GradientTape (gradient × input: the
// fixture's input gradient). Tolerance: 1e-4 max-abs
// on the normalised maps, at input and at layer resolution. Guided
// backprop and Guided Grad-CAM use the input gradient through every ReLU
// and max-pool, piecewise constant in their masks: they are compared
// outside the kink envelope (internal/fixture/kinks.go), exact where no
// unit is within rounding of a kink. Half-precision fixtures (mixed_float16):
// fixture.HalfTolerance, see there.
var crossesKinks = map[string]bool{
	"guided-backprop": true, "guided-gradcam": true,
	"saliency": true, "integrated-gradients": true, "smoothgrad": true,
	"gradient-input": true, "squaregrad": true, "vargrad": true, "gradient-shap": true,
}

// referenceName is the reference file of method: its name, or for a
// variant the reference script writes separately, the variant's
// (gradcam++eps: pytorch-grad-cam's Grad-CAM++, ε = 1e-6).
func referenceName(m Method) string {
	if p, ok := m.(GradCAMPlusPlus); ok && p.Eps != 0 {
		return "gradcam++eps"
	}
	return m.Name()
}

func TestMethodsMatchPythonReference(t *testing.T) {
	names := fixture.Names(t)
	refDir := t.TempDir()
	var dirs []string
	for _, n := range names {
		dirs = append(dirs, fixture.Load(t, n).Dir)
	}
	fixture.Reference(t, "reference_cams.py", refDir, dirs...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			f, m := loadModel(t, name)
			e, err := New(m, Config{Methods: append(All(), GradientInput{}, GradCAMPlusPlus{Eps: 1e-6}), LowRes: true})
			if err != nil {
				t.Fatal(err)
			}
			in := f.Array(t, "inputs")
			targets := f.Array(t, "targets")
			n := in.Shape[0]
			res, err := e.Explain(context.Background(), Batch{in.F32, n}, Top1())
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Maps[0][0].Class != int(targets.I32[i]) {
					t.Fatalf("image %d: explained class %d, Python's argmax is %d", i, r.Maps[0][0].Class, targets.I32[i])
				}
			}
			for j, meth := range e.cfg.Methods {
				for _, res0 := range []struct {
					suffix string
					get    func(Map) []float32
				}{{"", func(m Map) []float32 { return m.Normalized }}, {".low", func(m Map) []float32 { return m.LowRes }}} {
					if res0.suffix == ".low" && inputResolution(meth) {
						continue
					}
					ref, err := npy.ReadFile(filepath.Join(refDir, name, referenceName(meth)+res0.suffix+".npy"))
					if err != nil {
						t.Fatal(err)
					}
					var got []float32
					for i := range res {
						got = append(got, res0.get(res[i].Maps[0][j])...)
					}
					var variants [][]float32
					if crossesKinks[meth.Name()] {
						v, err := npy.ReadFile(filepath.Join(refDir, name, meth.Name()+res0.suffix+".kinks.npy"))
						if err != nil {
							t.Fatal(err)
						}
						variants = fixture.SplitVariants(v)
					}
					checkMap(t, referenceName(meth)+res0.suffix, got, ref.F32, variants, f.Tolerance(1e-4))
				}
			}
		})
	}
}
