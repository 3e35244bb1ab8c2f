package explainer

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
)

// TestMethodsMatchPythonReference compares every method on every fixture
// with scripts/reference_cams.py: the papers' formulas in numpy, applied to
// activations and gradients from tf.GradientTape. Tolerance: 1e-4 max-abs
// on the normalised maps, at input and at layer resolution.
func TestMethodsMatchPythonReference(t *testing.T) {
	names := fixture.Names(t)
	refDir := t.TempDir()
	var dirs []string
	for _, n := range names {
		dirs = append(dirs, fixture.Load(t, n).Dir)
	}
	fixture.Python(t, "reference_cams.py", append([]string{refDir}, dirs...)...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			f, m := loadModel(t, name)
			e, err := New(m, Config{Methods: All(), LowRes: true})
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
					if res0.suffix == ".low" && meth.InputResolution() {
						continue
					}
					ref, err := npy.ReadFile(filepath.Join(refDir, name, meth.Name()+res0.suffix+".npy"))
					if err != nil {
						t.Fatal(err)
					}
					var got []float32
					for i := range res {
						got = append(got, res0.get(res[i].Maps[0][j])...)
					}
					d := fixture.MaxAbsDiff(got, ref.F32)
					if d > 1e-4 || math.IsNaN(d) {
						t.Errorf("%s%s: max |go - reference| = %.3g > 1e-4", meth.Name(), res0.suffix, d)
					} else {
						t.Logf("%s%s: max |go - reference| = %.2g", meth.Name(), res0.suffix, d)
					}
				}
			}
		})
	}
}
