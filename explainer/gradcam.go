package explainer

import tf "github.com/wamuir/graft/tensorflow"

var _ = Register(Spec[GradCAM]{
	Name: "gradcam", Family: FamilyGradient, Order: 10,
	Summary: "Grad-CAM: w = mean(g)",
	Notes:   "= tf-keras-vis Gradcam, Xplique GradCAM",
})

// GradCAM is Grad-CAM (Selvaraju et al. 2017): channel weights are the
// spatial mean of the gradients, w_k = mean_ij g_ijk; the map is Σ_k w_k A_k.
type GradCAM struct{}

// Name implements Method.
func (GradCAM) Name() string { return "gradcam" }

// Needs implements Method.
func (GradCAM) Needs() Needs { return Needs{LayerGrad: true} }

// Weights implements WeightMethod.
func (GradCAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	return o.SpatialMean(t.G), nil
}
