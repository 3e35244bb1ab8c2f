package explainer

import tf "github.com/wamuir/graft/tensorflow"

var _ = Register(Spec[LayerCAM]{
	Name: "layercam", Family: FamilyGradient, Order: 60,
	Summary: "ReLU(Σ_k ReLU(g)⊙A)",
	Notes:   "= tf-keras-vis Layercam",
})

// LayerCAM (Jiang et al. 2021): positive gradients weight each activation
// element-wise, Σ_k ReLU(g_k) ⊙ A_k.
type LayerCAM struct{}

// Name implements Method.
func (LayerCAM) Name() string { return "layercam" }

// Needs implements Method.
func (LayerCAM) Needs() Needs { return Needs{LayerGrad: true} }

// Weights implements WeightMethod.
func (LayerCAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	return o.Relu(t.G), nil
}
