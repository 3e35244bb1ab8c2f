package explainer

import tf "github.com/wamuir/graft/tensorflow"

var _ = register(Spec[HiResCAM]{
	Name: "hirescam", Family: FamilyGradient, Order: 40,
	Summary: "ReLU(Σ_k g⊙A)",
})

// HiResCAM (Draelos & Carin 2020): the element-wise product of gradients and
// activations summed over channels, Σ_k g_k ⊙ A_k, without Grad-CAM's
// spatial averaging of the gradients.
type HiResCAM struct{ layerMethod }

// Name implements Method.
func (HiResCAM) Name() string { return "hirescam" }

// Needs implements Method.
func (HiResCAM) Needs() Needs { return Needs{LayerGrad: true} }

// Build implements Method.
func (HiResCAM) Build(o *Ops, t Tensors) (tf.Output, error) {
	return o.ChannelSum(o.Mul(t.G, t.A)), nil
}
