package explainer

import (
	"math"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[FinerCAM]{
	Name: "finercam", Family: FamilyMore, Order: 150,
	Summary: "Grad-CAM of Σ_j p_j(y_c − α·y_j)/(Σ_j p_j + 1e-9) over the classes j with scores nearest y_c, p = softmax(y)",
	Notes:   "= pytorch-grad-cam's FinerCAM with its default base (Grad-CAM) and FinerWeightedTarget, the gradient through p too; one more backward pass; checked against pytorch-grad-cam 1.5.x's formula, not the library (no torch here)",
	Options: []Option{
		{Name: "alpha", Default: 1.0, Min: 0, Max: 1e6, Doc: "α: weight of the nearest classes' scores"},
		{Name: "compare", Default: 3, Min: 1, Doc: "nearest classes compared (at most classes − 1)"},
	},
})

// FinerCAM (Zhang et al. 2025; pytorch-grad-cam's FinerCAM with its
// default base method, Grad-CAM): Grad-CAM of a target that contrasts the
// explained class c with the classes the model nearly confuses with it,
//
//	T = Σ_j p_j·(y_c − α·y_j) / (Σ_j p_j + 1e-9),
//
// over the Compare classes j ≠ c whose scores y_j are nearest to y_c
// (|y_j − y_c| smallest; pytorch-grad-cam's comparison_categories [1,2,3]),
// with p = softmax(y), the gradient flowing through p as well, as in
// pytorch-grad-cam's FinerWeightedTarget. y are the explained scores
// (logits by default, as pytorch-grad-cam's model output). The map
// highlights what separates c from its neighbours rather than what makes
// it likely. Models with fewer than Compare+1 classes compare with all
// the others.
type FinerCAM struct {
	// Alpha is α, how strongly the neighbours' scores are subtracted (0: the
	// registered default, pytorch-grad-cam's).
	Alpha float64
	// Compare is how many nearest classes are compared.
	Compare int
}

// Name implements Method.
func (FinerCAM) Name() string { return "finercam" }

// Needs implements Method.
func (FinerCAM) Needs() Needs { return Needs{} }

// Weights implements WeightMethod.
func (m FinerCAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	m = Resolve(m)
	c := t.Ctx
	alpha, compare := m.Alpha, m.Compare
	classes := c.e.nClasses
	if classes < 2 {
		return tf.Output{}, c.notApplicable(m, "the model scores one class, and FinerCAM contrasts a class with others", "use gradcam", nil)
	}
	compare = min(compare, classes-1)
	y := c.ClassScores()
	target := op.OneHot(o.Scope(), c.Targets, constant(o.s, int32(classes)), o.Const(1), o.Const(0))
	yc := op.Sum(o.Scope(), o.Mul(y, target), constant(o.s, int32(1)), op.SumKeepDims(true)) // [N,1]
	// The choice of neighbours is not differentiated (pytorch-grad-cam
	// picks them in numpy).
	dist := op.StopGradient(o.Scope(), o.Abs(o.Sub(y, yc)))
	dist = o.Add(dist, o.Mul(target, o.Const(math.MaxFloat32)))
	_, near := op.TopKV2(o.Scope(), op.Neg(o.Scope(), dist), constant(o.s, int32(compare)))
	chosen := op.Sum(o.Scope(), op.OneHot(o.Scope(), near, constant(o.s, int32(classes)), o.Const(1), o.Const(0)), constant(o.s, int32(1))) // [N,classes]
	c.probe("finercam/compared", chosen)
	p := o.Mul(op.Softmax(o.Scope(), y), chosen)
	sum := func(x tf.Output) tf.Output { return op.Sum(o.Scope(), x, constant(o.s, int32(1))) }
	num := sum(o.Mul(p, o.Sub(yc, o.Mul(o.Const(float32(alpha)), y))))
	score := op.RealDiv(o.Scope(), num, o.Add(sum(p), o.Const(1e-9)))
	g, err := c.ScoreGradient(o, score)
	if err != nil {
		return tf.Output{}, err
	}
	return o.SpatialMean(g), nil
}
