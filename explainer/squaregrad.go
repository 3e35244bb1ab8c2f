package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[SquareGrad]{
	Name: "squaregrad", Family: FamilyInput, Order: 50,
	Summary: "mean over noisy copies of the squared input gradient, channel mean",
	Notes:   "seeded, SmoothGrad's copies (σ a fraction of the range, where Xplique's is absolute); = Xplique SquareGrad fed the same noise",
	Options: noiseOptions,
	Cost:    func(m SquareGrad, _ Geometry) Cost { return Cost{Copies: m.Samples} },
})

// SquareGrad (Hooker et al. 2019, "SmoothGrad²") averages the squared
// input gradient over Samples noisy copies of the image, then averages over
// channels: mean_c mean_j (d score / d x_c)²(x + ε_j). Xplique's SquareGrad
// (its default channel reducer, the mean). The noisy copies are
// SmoothGrad's (the same Samples, Noise and, for a seed, the same draws):
// σ = Noise·(max(x) − min(x)) per image, where Xplique's noise is an
// absolute σ (0.2), because tfcam's input range depends on the
// preprocessing (options and defaults: noiseOptions, SmoothGrad's).
type SquareGrad struct {
	// Samples is the number of noisy copies; 0: the registered default.
	Samples int
	// Noise is σ as a fraction of each image's value range (0: the
	// registered default; negative: no noise).
	Noise float32
}

// Name implements Method.
func (SquareGrad) Name() string { return "squaregrad" }

// Needs implements Method.
func (SquareGrad) Needs() Needs { return Needs{} }

// InputResolution implements Method.
func (SquareGrad) InputResolution() bool { return true }

// Build implements Method.
func (m SquareGrad) Build(o *Ops, t Tensors) (tf.Output, error) {
	n, noise := SmoothGrad(m).params() // the same options and defaults
	g, err := noisyGradients(o, t.Ctx, n, noise)
	if err != nil {
		return tf.Output{}, err
	}
	return o.ChannelMean(op.Mean(o.Scope(), o.Square(g), constant(o.s, int32(0)))), nil
}

// PixelGradient implements gradientMethod: the map is a pixel gradient
// magnitude (GradientMap).
func (SquareGrad) PixelGradient() bool { return true }
