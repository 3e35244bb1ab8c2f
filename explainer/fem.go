package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[FEM]{
	Name: "fem", Family: FamilyMore, Order: 120,
	Summary: "FEM: w_k = share of positions where A_k > mean_k + k·std_k; gradient-free",
	Notes:   "= pytorch-grad-cam's FEM formula (population std over the positions); class-independent; checked against pytorch-grad-cam 1.5.x's formula, not the library (no torch here)",
	Options: []Option{{Name: "k", Default: 2.0, Min: 0, Max: 100, Doc: "threshold mean + k·std"}},
})

// FEM is the Feature Explanation Method (Fuad et al. 2020) as
// pytorch-grad-cam's FEM computes it: gradient-free and class-independent,
// w_k is the share of positions where channel k is "unusually" active,
// A_k > mean_k + k·std_k (the k-sigma rule, mean and population standard
// deviation over the positions), and the map is Σ_k w_k A_k.
type FEM struct {
	// K is k in the threshold mean + k·std (0: the registered default,
	// pytorch-grad-cam's).
	K float64
}

// Name implements Method.
func (FEM) Name() string { return "fem" }

// Needs implements Method.
func (FEM) Needs() Needs { return Needs{} }

// Weights implements WeightMethod.
func (m FEM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	m = Resolve(m)
	mean := o.SpatialMean(t.A)
	std := op.Sqrt(o.Scope(), o.SpatialMean(o.Square(o.Sub(t.A, mean))))
	above := op.Greater(o.Scope(), t.A, o.Add(mean, o.Mul(o.Const(float32(m.K)), std)))
	w := o.SpatialMean(op.Cast(o.Scope(), above, tf.Float))
	return w, nil
}
