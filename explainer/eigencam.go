package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
)

var _ = Register(Spec[EigenCAM]{
	Name: "eigencam", Family: FamilyGradient, Order: 70,
	Summary:       "first principal component of the activations",
	Notes:         "sign fixed to correlate with the mean activation (where that map is flat, as after LayerNorm: the larger tail positive): the salient region positive at non-negative layers (after ReLU/SiLU, the defaults), a convention only at signed ones (residual sums)",
	NoEigenSmooth: "eigencam is already the first principal component of its activations (pytorch-grad-cam ignores eigen_smooth here)",
})

// EigenCAM (Muhammad & Yeasin 2020) is the gradient-free baseline: the
// activations, as an (h·w)×K matrix centred per channel, projected on their
// first right singular vector. It does not depend on the target class.
//
// An SVD fixes a singular vector only up to sign; tfcam picks the sign that
// makes the projection correlate positively with the mean activation map
// (pytorch-grad-cam leaves the sign to the SVD routine, so its maps can come
// out inverted). What that sign means depends on the layer. At a layer whose
// activations are non-negative (after a ReLU or ReLU6, nearly so after a
// SiLU: the default layers of CNNs), the mean map is large where the layer
// fires, which on a trained model is the object: there the salient region
// comes out positive. At a layer with signed activations (a residual sum such as
// EfficientNet's block5c_add, a pre-activation) the mean map may be small
// or negative on the object, and the sign is a convention only: the map
// correlates with the mean activation, which need not be the salient
// region. Where the mean map does not vary over the positions (its spread
// at most 1e-4 of the largest activation: LayerNorm outputs of
// transformers have a zero mean per token), that correlation is rounding
// noise, and the sign makes the projection's larger tail positive
// (Σ p³ > 0) instead.
type EigenCAM struct{ layerMethod }

// Name implements Method.
func (EigenCAM) Name() string { return "eigencam" }

// Needs implements Method.
func (EigenCAM) Needs() Needs { return Needs{} }

// Build implements Method.
func (EigenCAM) Build(o *Ops, t Tensors) (tf.Output, error) {
	return o.g().FirstComponent(t.A), nil
}
