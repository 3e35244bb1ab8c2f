package explainer

import (
	"context"
	"math"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
)

// doubled is an embedder's own objective, built only from the exported
// ObjectiveBuild and ObjectiveGraph: S = 2·(the class scores).
type doubled struct{}

func (doubled) String() string { return "doubled" }
func (doubled) IsClass() bool  { return false }
func (ob doubled) Build(b *ObjectiveBuild) (*ObjectiveGraph, error) {
	base := b.ClassScores()
	shape, err := base.Shape().ToSlice()
	if err != nil || len(shape) != 2 {
		return nil, b.Misfit(ob, base, "class scores [N, classes]")
	}
	return &ObjectiveGraph{Base: base, Cols: int(shape[1]),
		Scores: func(o *Ops, x, _ tf.Output) tf.Output { return o.Mul(b.Float32(x), o.Const(2)) },
		Rank:   func(_ *Ops, s tf.Output) tf.Output { return s }}, nil
}

// TestObjectiveOfYourOwn: an objective outside the package plugs in. With
// S = 2y, Grad-CAM's raw map doubles (its weights are the mean of ∂S/∂A,
// which doubles, times the same A; ReLU is positively homogeneous), the
// normalised map and the ranking stay, and the scores double.
func TestObjectiveOfYourOwn(t *testing.T) {
	f, plain := newExplainer(t, "shapes", Config{Methods: []Method{GradCAM{}}, Raw: true})
	_, twice := newExplainer(t, "shapes", Config{Methods: []Method{GradCAM{}}, Raw: true, Objective: doubled{}})
	in := f.Array(t, "inputs")
	batch := Batch{in.F32, in.Shape[0]}
	ctx := context.Background()
	a, err := plain.Explain(ctx, batch, TopK(2))
	if err != nil {
		t.Fatal(err)
	}
	b, err := twice.Explain(ctx, batch, TopK(2))
	if err != nil {
		t.Fatal(err)
	}
	if got := twice.Objective().String(); got != "doubled" {
		t.Errorf("Objective() = %q", got)
	}
	for i := range a {
		for r := range a[i].Maps {
			ma, mb := a[i].Maps[r][0], b[i].Maps[r][0]
			if ma.Class != mb.Class {
				t.Fatalf("image %d rank %d: class %d, doubled %d: the ranking changed", i, r, ma.Class, mb.Class)
			}
			if d := math.Abs(float64(mb.Score - 2*ma.Score)); d > 1e-5*math.Abs(float64(ma.Score))+1e-6 {
				t.Errorf("image %d rank %d: score %g, doubled %g", i, r, ma.Score, mb.Score)
			}
			scale := 0.0
			for _, v := range ma.Raw {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			for p := range ma.Raw {
				if d := math.Abs(float64(mb.Raw[p] - 2*ma.Raw[p])); d > 1e-5*scale {
					t.Fatalf("image %d rank %d pixel %d: raw %g, doubled %g (want twice)", i, r, p, ma.Raw[p], mb.Raw[p])
				}
			}
		}
	}
}
