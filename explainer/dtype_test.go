package explainer

import (
	"context"
	"math"
	"testing"
)

// TestEveryMethodOnDTypeFixtures runs, on the fixtures of the signatures
// issue 14 added (float16 layers and scores, uint8 input, the first of two
// outputs, JPEG bytes decoded in the model; see below), the registered methods that no
// parity test compares there (unreferenced: Score-CAM, Ablation-CAM, CAM
// and SmoothGrad on the fixtures without model.keras; Group-, Cluster-,
// Cosine-CAM and Smooth Grad-CAM++ on all): each must build, which a dtype
// mismatch in its graph prevents, and give a finite normalised map in
// [0,1] that is not flat.
func TestEveryMethodOnDTypeFixtures(t *testing.T) {
	t.Parallel() // one of the longest: overlaps the others (and their Python references)
	// two_outputs is left out: its scores are float32 like any model's,
	// and the choice of output is tfgraph's (TestPredictMatchesPython).
	for _, name := range []string{"mixed_float16", "uint8_input", "string_input"} {
		t.Run(name, func(t *testing.T) {
			f, m := loadModel(t, name)
			in := f.Array(t, "inputs")
			n := 1
			batch := Batch{in.F32[:n*len(in.F32)/in.Shape[0]], n}
			methods := unreferenced()
			e, err := New(m, Config{Methods: methods})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Explain(context.Background(), batch, Top1())
			if err != nil {
				t.Fatal(err)
			}
			for j, meth := range methods {
				mp := res[0].Maps[0][j].Normalized
				lo, hi := math.Inf(1), math.Inf(-1)
				for _, v := range mp {
					lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
				}
				if math.IsNaN(lo) || math.IsNaN(hi) || lo < 0 || hi > 1 || hi <= lo {
					t.Errorf("%s: normalised map spans [%g, %g]; want finite, within [0,1], not flat", meth.Name(), lo, hi)
				}
			}
		})
	}
}

// unreferenced are the registered methods outside All (which every
// fixture's parity test runs), Saliency and IntegratedGradients (which
// TestMoreMethodsMatchPythonReference compares on the Keras ones) and the
// gradient-free or layer-gradient CAM family that
// TestCAMFamilyMatchPythonReference compares on every fixture.
func unreferenced() []Method {
	var out []Method
	for _, m := range Registry()[len(All()):] {
		switch m.(type) {
		case Saliency, IntegratedGradients, EigenGradCAM, GradCAMElementWise, FEM, RandomCAM, KPCACAM:
			continue
		}
		out = append(out, m)
	}
	return out
}
