package explainer

import (
	"context"
	"math"
	"testing"
)

// TestEveryMethodOnDTypeFixtures runs every registered method on the
// fixtures of the signatures issue 14 added (float16 layers and scores,
// uint8 input, the first of two outputs, JPEG bytes decoded in the model): each must build and give finite
// normalised maps in [0,1] that are not flat. The parity tests
// (TestMethodsMatchPythonReference, TestMoreMethodsMatchPythonReference)
// check the values of the methods that have Python references; this
// catches a dtype mismatch in the others' graphs (Group-, Cluster-,
// Cosine-CAM, Smooth Grad-CAM++, SmoothGrad), which would fail to build.
// (A map's top is not asserted to be 1: normalisation's fixed epsilon of
// 1e-7 squashes maps whose raw range is that small, e.g. Guided Grad-CAM on
// uint8_input, whose 0..255 pixels make input gradients 127.5× smaller;
// issue 14 item 5 is about that.)
func TestEveryMethodOnDTypeFixtures(t *testing.T) {
	for _, name := range []string{"mixed_float16", "uint8_input", "two_outputs", "string_input"} {
		t.Run(name, func(t *testing.T) {
			f, m := loadModel(t, name)
			in := f.Array(t, "inputs")
			n := min(2, in.Shape[0])
			batch := Batch{in.F32[:n*len(in.F32)/in.Shape[0]], n}
			for _, meth := range Registry() {
				e, err := New(m, Config{Methods: []Method{meth}})
				if err != nil {
					t.Errorf("%s: %v", meth.Name(), err)
					continue
				}
				res, err := e.Explain(context.Background(), batch, Top1())
				if err != nil {
					t.Errorf("%s: %v", meth.Name(), err)
					continue
				}
				for i, r := range res {
					mp := r.Maps[0][0].Normalized
					lo, hi := math.Inf(1), math.Inf(-1)
					for _, v := range mp {
						lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
					}
					if math.IsNaN(lo) || math.IsNaN(hi) || lo < 0 || hi > 1 || hi <= lo {
						t.Errorf("%s image %d: normalised map spans [%g, %g]; want finite, within [0,1], not flat", meth.Name(), i, lo, hi)
					}
				}
			}
		})
	}
}
