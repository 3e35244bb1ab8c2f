package explainer

import tf "github.com/wamuir/graft/tensorflow"

var _ = Register(Spec[XGradCAM]{
	Name: "xgradcam", Family: FamilyGradient, Order: 50,
	Summary: "w = ΣA·g/ΣA",
})

// XGradCAM is XGrad-CAM (Fu et al. 2020): w_k = Σ_ij A_ijk g_ijk / Σ_ij A_ijk
// (0 for a channel whose activations sum to 0); the map is Σ_k w_k A_k.
type XGradCAM struct{}

// Name implements Method.
func (XGradCAM) Name() string { return "xgradcam" }

// Needs implements Method.
func (XGradCAM) Needs() Needs { return Needs{LayerGrad: true} }

// Weights implements WeightMethod.
func (XGradCAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	w := o.Div(o.SpatialSum(o.Mul(t.A, t.G)), o.SpatialSum(t.A))
	return w, nil
}
