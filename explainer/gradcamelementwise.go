package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[GradCAMElementWise]{
	Name: "gradcam-elementwise", Family: FamilyMore, Order: 110,
	Summary: "ReLU(Σ_k ReLU(g⊙A))",
	Notes:   "= pytorch-grad-cam's GradCAMElementWise formula; checked against pytorch-grad-cam 1.5.x's formula, not the library (no torch here)",
})

// GradCAMElementWise is pytorch-grad-cam's GradCAMElementWise: HiResCAM with
// a ReLU on each channel's product before the sum, Σ_k ReLU(g_k ⊙ A_k), so
// negative evidence of one channel does not cancel positive evidence of
// another (LayerCAM clips the gradient instead, ReLU(g) ⊙ A).
type GradCAMElementWise struct{}

// Name implements Method.
func (GradCAMElementWise) Name() string { return "gradcam-elementwise" }

// Needs implements Method.
func (GradCAMElementWise) Needs() Needs { return Needs{LayerGrad: true} }

// Weights implements WeightMethod.
func (GradCAMElementWise) Weights(o *Ops, t Tensors) (tf.Output, error) {
	// ReLU(g⊙A) as weights on A: g where g·A > 0, else 0 (the same
	// products, so the same map to the last bit).
	positive := op.Greater(o.Scope(), o.Mul(t.G, t.A), o.Const(0))
	return o.Where(positive, t.G, op.ZerosLike(o.Scope(), t.G)), nil
}
