package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
)

var _ = Register(Spec[EigenCAM]{
	Name: "eigencam", Family: FamilyGradient, Order: 70,
	Summary:       "first principal component of the activations",
	Notes:         "sign fixed to correlate with the mean activation (where that map is flat, as after LayerNorm: the larger tail positive)",
	NoEigenSmooth: "eigencam is already the first principal component of its activations (pytorch-grad-cam ignores eigen_smooth here)",
})

// EigenCAM (Muhammad & Yeasin 2020) is the gradient-free baseline: the
// activations, as an (h·w)×K matrix centred per channel, projected on their
// first right singular vector. It does not depend on the target class.
//
// An SVD fixes a singular vector only up to sign; tfcam picks the sign that
// makes the projection correlate positively with the mean activation map, so
// the salient region comes out positive (pytorch-grad-cam leaves the sign to
// the SVD routine). Where the mean map does not vary over the positions
// (its spread at most 1e-4 of the largest activation: LayerNorm outputs of
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
