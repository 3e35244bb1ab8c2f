package explainer

import tf "github.com/wamuir/graft/tensorflow"

var _ = Register(Spec[SmoothGradCAMPlusPlus]{
	Name: "smoothgradcam++", Family: FamilyMore, Order: 10,
	Summary: "Grad-CAM++ with gradient powers averaged over noisy copies",
	Notes:   "seeded",
	Options: noiseOptions,
	Cost:    func(m SmoothGradCAMPlusPlus, _ Geometry) Cost { return Cost{Copies: m.Samples} },
})

// SmoothGradCAMPlusPlus is Smooth Grad-CAM++ (Omeiza et al. 2019): Grad-CAM++
// with the gradient powers averaged over Samples noisy copies of the image
// (noise as SmoothGrad: σ = Noise·(max − min) per image):
//
//	α = D2 / (2·D2 + Σ_ab A · D3),   w_k = Σ_ij α · ReLU(D1),
//
// D_p the mean over copies of g^p, A the activations of the image itself.
// Options and defaults as SmoothGrad's (noiseOptions). Seeded: Config.Seed.
type SmoothGradCAMPlusPlus struct {
	// Samples is the number of noisy copies; 0: the registered default.
	Samples int
	// Noise is σ as a fraction of each image's value range (0: the registered default;
	// negative: no noise).
	Noise float32
}

// Name implements Method.
func (SmoothGradCAMPlusPlus) Name() string { return "smoothgradcam++" }

// Needs implements Method.
func (SmoothGradCAMPlusPlus) Needs() Needs { return Needs{} }

// Weights implements WeightMethod.
func (m SmoothGradCAMPlusPlus) Weights(o *Ops, t Tensors) (tf.Output, error) {
	m = Resolve(m)
	n, noise := m.Samples, max(m.Noise, 0)
	c := t.Ctx
	noisy := c.NoisyCopies(o, c.Input, n, noise, 3)
	_, g, err := c.LayerGradient(o, noisy, c.Repeat(o, c.Targets, n))
	if err != nil {
		return tf.Output{}, err
	}
	g2 := o.Square(g)
	d1 := c.MeanOfCopies(o, g, n)
	d2 := c.MeanOfCopies(o, g2, n)
	d3 := c.MeanOfCopies(o, o.Mul(g2, g), n)
	alpha := o.Div(d2, o.Add(o.Mul(o.Const(2), d2), o.Mul(o.SpatialSum(t.A), d3)))
	return o.SpatialSum(o.Mul(alpha, o.Relu(d1))), nil
}
