package explainer

import tf "github.com/wamuir/graft/tensorflow"

var _ = Register(Spec[HiResCAM]{
	Name: "hirescam", Family: FamilyGradient, Order: 40,
	Summary: "ReLU(Σ_k g⊙A)",
})

// HiResCAM (Draelos & Carin 2020): the element-wise product of gradients and
// activations summed over channels, Σ_k g_k ⊙ A_k, without Grad-CAM's
// spatial averaging of the gradients.
type HiResCAM struct{}

// Name implements Method.
func (HiResCAM) Name() string { return "hirescam" }

// Needs implements Method.
func (HiResCAM) Needs() Needs { return Needs{LayerGrad: true} }

// Weights implements WeightMethod.
func (HiResCAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	return t.G, nil
}
