package explainer

import tf "github.com/wamuir/graft/tensorflow"

var _ = Register(Spec[GradCAMPlusPlus]{
	Name: "gradcam++", Family: FamilyGradient, Order: 20,
	Summary: "Grad-CAM++: α = g²/(2g²+ΣA·g³), w = Σα·ReLU(g)",
	Notes:   "the paper's exponential-score form (pytorch-grad-cam's, without its 1e-7)",
	Options: []Option{{Name: "normalizealpha", Default: false, Doc: "true: gradcam++norm"}},
})

var _ = Register(Spec[GradCAMPlusPlus]{
	Name: "gradcam++norm", Family: FamilyGradient, Order: 30,
	Summary: "the same with α divided by its spatial sum",
	Notes:   "= tf-keras-vis GradcamPlusPlus",
	Proto:   GradCAMPlusPlus{NormalizeAlpha: true},
	Options: []Option{{Name: "normalizealpha", Default: true, Doc: "false: gradcam++"}},
})

// GradCAMPlusPlus is Grad-CAM++ (Chattopadhyay et al. 2018) in the paper's
// exponential-score form. With S = exp(Y) the higher derivatives reduce to
// powers of g = dY/dA:
//
//	α_ijk = g² / (2g² + Σ_ab A_abk · g³)   (0 where the denominator is 0)
//	w_k   = Σ_ij α_ijk · ReLU(g_ijk)
//
// The common exp(Y) factor of the weights is dropped: it scales each image's
// map by a constant that normalisation removes. This is the variant of the
// paper and of pytorch-grad-cam (which adds 1e-7 to the denominator instead
// of the zero test).
//
// NormalizeAlpha selects tf-keras-vis's variant, which further divides α by
// its spatial sum per channel: α_ijk /= Σ_ab α_abk.
type GradCAMPlusPlus struct {
	NormalizeAlpha bool
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
	g2 := o.Square(t.G)
	g3 := o.Mul(g2, t.G)
	denom := o.Add(o.Mul(o.Const(2), g2), o.Mul(o.SpatialSum(t.A), g3))
	alpha := o.Div(g2, denom)
	if m.NormalizeAlpha {
		alpha = o.Div(alpha, o.SpatialSum(alpha))
	}
	w := o.SpatialSum(o.Mul(alpha, o.Relu(t.G)))
	return w, nil
}
