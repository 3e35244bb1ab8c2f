package explainer

import tf "github.com/wamuir/graft/tensorflow"

var _ = Register(Spec[EigenGradCAM]{
	Name: "eigengradcam", Family: FamilyMore, Order: 100,
	Summary:       "first principal component of g⊙A",
	Notes:         "pytorch-grad-cam's EigenGradCAM; EigenCAM's sign (correlates with the mean of g⊙A over channels, i.e. HiResCAM's map) instead of the SVD routine's; checked against pytorch-grad-cam 1.5.x's formula, not the library (no torch here)",
	NoEigenSmooth: "eigengradcam is already the first principal component of g⊙A (pytorch-grad-cam ignores eigen_smooth here)",
})

// EigenGradCAM is pytorch-grad-cam's EigenGradCAM: EigenCAM on the
// element-wise product g⊙A instead of A, so the component depends on the
// class. The sign is EigenCAM's (see there): the projection correlates
// positively with the mean over channels of g⊙A, which is HiResCAM's map
// divided by K (pytorch-grad-cam leaves the sign to the SVD routine).
type EigenGradCAM struct{ layerMethod }

// Name implements Method.
func (EigenGradCAM) Name() string { return "eigengradcam" }

// Needs implements Method.
func (EigenGradCAM) Needs() Needs { return Needs{LayerGrad: true} }

// Build implements Method.
func (EigenGradCAM) Build(o *Ops, t Tensors) (tf.Output, error) {
	return o.g().FirstComponent(o.Mul(t.G, t.A)), nil
}
