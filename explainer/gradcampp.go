package explainer

import tf "github.com/wamuir/graft/tensorflow"

var _ = Register(Spec[GradCAMPlusPlus]{
	Name: "gradcam++", Family: FamilyGradient, Order: 20,
	Summary: "Grad-CAM++: α = g²/(2g²+ΣA·g³), w = Σα·ReLU(g)",
	Notes:   "the paper's exponential-score form; `eps=1e-6` = pytorch-grad-cam GradCAMPlusPlus",
	Options: gradCAMPlusPlusOptions(false),
})

var _ = Register(Spec[GradCAMPlusPlus]{
	Name: "gradcam++norm", Family: FamilyGradient, Order: 30,
	Summary: "the same with α divided by its spatial sum",
	Notes:   "= tf-keras-vis GradcamPlusPlus",
	Proto:   GradCAMPlusPlus{NormalizeAlpha: true},
	Options: gradCAMPlusPlusOptions(true),
})

// gradCAMPlusPlusOptions are Grad-CAM++'s options; gradcam++norm differs in
// normalizealpha's default.
func gradCAMPlusPlusOptions(norm bool) []Option {
	doc := "true: gradcam++norm"
	if norm {
		doc = "false: gradcam++"
	}
	return []Option{
		{Name: "normalizealpha", Default: norm, Doc: doc},
		{Name: "eps", Default: 0.0, Min: 1e-12, Max: 1, Doc: "added to α's denominator (0: the paper; 1e-6: pytorch-grad-cam)"},
	}
}

// GradCAMPlusPlus is Grad-CAM++ (Chattopadhyay et al. 2018) in the paper's
// exponential-score form. With S = exp(Y) the higher derivatives reduce to
// powers of g = dY/dA:
//
//	α_ijk = g² / (2g² + Σ_ab A_abk · g³ + ε)   (0 where g or the denominator is 0)
//	w_k   = Σ_ij α_ijk · ReLU(g_ijk)
//
// The common exp(Y) factor of the weights is dropped: it scales each image's
// map by a constant that normalisation removes. Eps is ε: 0 by default (the
// paper's formula); pytorch-grad-cam's GradCAMPlusPlus adds 1e-6, which is
// not negligible where gradients are small: on EfficientNet-Lite0's default
// layer (gradients up to ~1e-3) the normalised maps of ε = 0 and ε = 1e-6
// differ by 0.05, and with ε = 1e-6 tfcam equals pytorch-grad-cam 1.5.7 to
// 8e-6 (explainer/torchpeer_test.go).
//
// Conditioning: at a layer with signed activations (a residual sum) the
// denominator g²·(2 + ΣA·g) + ε has near-zeros where g ≈ −2/ΣA, and
// neither ε = 1e-6 nor the zero test tames them: there the map can change
// completely with a rounding-level change of the gradient (measured at
// EfficientNet-Lite0's block5c_add: a 4.5e-5 gradient difference between
// TensorFlow's and PyTorch's kernels moved a map by 0.96). Prefer Grad-CAM
// or LayerCAM at such layers.
//
// NormalizeAlpha selects tf-keras-vis's variant, which further divides α by
// its spatial sum per channel: α_ijk /= Σ_ab α_abk.
type GradCAMPlusPlus struct {
	// NormalizeAlpha divides α by its spatial sum per channel.
	NormalizeAlpha bool
	// Eps is added to α's denominator (0: none).
	Eps float64
}

// Name implements Method.
func (m GradCAMPlusPlus) Name() string {
	if m.NormalizeAlpha {
		return "gradcam++norm"
	}
	return "gradcam++"
}

// Needs implements Method.
func (GradCAMPlusPlus) Needs() Needs { return Needs{LayerGrad: true} }

// Weights implements WeightMethod.
func (m GradCAMPlusPlus) Weights(o *Ops, t Tensors) (tf.Output, error) {
	m = Resolve(m)
	g2 := o.Square(t.G)
	g3 := o.Mul(g2, t.G)
	denom := o.Add(o.Mul(o.Const(2), g2), o.Mul(o.SpatialSum(t.A), g3))
	if m.Eps != 0 {
		denom = o.Add(denom, o.Const(float32(m.Eps)))
	}
	alpha := o.Div(g2, denom) // g = 0 makes the numerator, so α, 0
	if m.NormalizeAlpha {
		alpha = o.Div(alpha, o.SpatialSum(alpha))
	}
	w := o.SpatialSum(o.Mul(alpha, o.Relu(t.G)))
	return w, nil
}
