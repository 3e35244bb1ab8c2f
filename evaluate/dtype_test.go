package evaluate

import (
	"context"
	"math"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/tfgraph"
)

// TestEvaluatorOnDTypeFixtures: the evaluator runs on a float16 model, a
// uint8-input model and one taking encoded images, and its unperturbed
// score is the probability Python computed for each image's class.
func TestEvaluatorOnDTypeFixtures(t *testing.T) {
	for _, name := range []string{"mixed_float16", "uint8_input", "string_input"} {
		t.Run(name, func(t *testing.T) {
			f := fixture.Load(t, name)
			m, err := tfgraph.Load(f.ModelDir, tfgraph.LoadOptions{Output: f.Meta.Output})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			e, err := New(m, Config{Steps: 4})
			if err != nil {
				t.Fatal(err)
			}
			in, probs, targets := f.Array(t, "inputs"), f.Array(t, "probs"), f.Array(t, "targets")
			n, hw := 2, in.Shape[1]*in.Shape[2]
			maps := make([]float32, n*hw)
			for p := range maps {
				maps[p] = float32(p%17) / 16
			}
			classes := []int{int(targets.I32[0]), int(targets.I32[1])}
			res, err := e.Run(context.Background(), in.F32[:n*hw*in.Shape[3]], maps, classes)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				want := float64(probs.F32[i*f.Meta.Classes+classes[i]])
				if d := math.Abs(r.Base - want); d > f.Tolerance(1e-5) || math.IsNaN(r.Base) {
					t.Errorf("image %d: base probability %g, Python %g", i, r.Base, want)
				}
			}
		})
	}
}
