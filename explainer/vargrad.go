package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[VarGrad]{
	Name: "vargrad", Family: FamilyInput, Order: 60,
	Summary: "unbiased variance over noisy copies of the input gradient, channel mean",
	Notes:   "as `squaregrad`; = Xplique VarGrad fed the same noise",
	Options: []Option{
		{Name: "samples", Default: 16, Min: 2, Doc: "noisy copies (a variance needs two)"},
		noiseOptions[1],
	},
	Cost: func(m VarGrad, _ Geometry) Cost { return Cost{Copies: m.Samples} },
})

// VarGrad (Adebayo et al. 2018) is the variance of the input gradient over
// Samples noisy copies of the image, unbiased (÷ (Samples − 1)), averaged
// over channels: Xplique's VarGrad with its default channel reducer (the
// mean). Computed as Σ_j (g_j − ḡ)² / (n − 1), which equals Xplique's
// n/(n − 1)·(mean(g²) − ḡ²) without its cancellation. The noisy copies
// are SmoothGrad's (see SquareGrad), with its options (noiseOptions).
type VarGrad struct {
	// Samples is the number of noisy copies, at least 2; 0: the registered
	// default.
	Samples int
	// Noise is σ as a fraction of each image's value range (0: the
	// registered default; negative: no noise, and a zero map).
	Noise float32
}

// Name implements Method.
func (VarGrad) Name() string { return "vargrad" }

// Needs implements Method.
func (VarGrad) Needs() Needs { return Needs{} }

// InputResolution implements Method.
func (VarGrad) InputResolution() bool { return true }

// Build implements Method.
func (m VarGrad) Build(o *Ops, t Tensors) (tf.Output, error) {
	m = Resolve(m)
	n, noise := m.Samples, max(m.Noise, 0)
	g, err := noisyGradients(o, t.Ctx, n, noise)
	if err != nil {
		return tf.Output{}, err
	}
	axis := constant(o.s, int32(0))
	dev := o.Sub(g, op.Mean(o.Scope(), g, axis, op.MeanKeepDims(true)))
	variance := o.Mul(op.Sum(o.Scope(), o.Square(dev), axis), o.Const(1/float32(n-1)))
	return o.ChannelMean(variance), nil
}

// PixelGradient implements gradientMethod: the map is a pixel gradient
// magnitude (GradientMap).
func (VarGrad) PixelGradient() bool { return true }
