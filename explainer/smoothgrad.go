package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[SmoothGrad]{
	Name: "smoothgrad", Family: FamilyInput, Order: 20,
	Summary: "mean gradient over noisy copies",
	Notes:   "seeded; = Xplique SmoothGrad fed the same noise (reduced by max |·| over channels)",
	Options: noiseOptions,
	Cost:    func(m SmoothGrad, _ Geometry) Cost { return Cost{Copies: m.Samples} },
})

// noiseOptions are the options of the methods that average over noisy
// copies (SmoothGrad, Smooth Grad-CAM++).
var noiseOptions = []Option{
	{Name: "samples", Default: 16, Min: 1, Doc: "noisy copies"},
	{Name: "noise", Default: 0.15, Doc: "σ as a fraction of the image's range; negative: none"},
}

// SmoothGrad (Smilkov et al. 2017) averages the input gradient over Samples
// noisy copies of the image, x + N(0, σ²) with σ = Noise·(max(x) − min(x))
// per image, then takes max_c |·| as Saliency does. The copies go through
// the model as one batch. The default noise is within the paper's 10–20 %
// (noiseOptions). Seeded: Config.Seed; an image's noise does not depend on its
// batch (see Context.Normal).
type SmoothGrad struct {
	// Samples is the number of noisy copies; 0: the registered default.
	Samples int
	// Noise is σ as a fraction of each image's value range (0: the registered default;
	// negative: no noise).
	Noise float32
}

// Name implements Method.
func (SmoothGrad) Name() string { return "smoothgrad" }

// Needs implements Method.
func (SmoothGrad) Needs() Needs { return Needs{} }

// InputResolution implements Method.
func (SmoothGrad) InputResolution() bool { return true }

// params are the copies and the noise σ as a fraction of the range (0:
// none), defaults filled in.
func (m SmoothGrad) params() (int, float32) {
	m = Resolve(m)
	return m.Samples, max(m.Noise, 0)
}

// Build implements Method.
func (m SmoothGrad) Build(o *Ops, t Tensors) (tf.Output, error) {
	n, noise := m.params()
	g, err := noisyGradients(o, t.Ctx, n, noise)
	if err != nil {
		return tf.Output{}, err
	}
	return o.ChannelMaxAbs(op.Mean(o.Scope(), g, constant(o.s, int32(0)))), nil
}

// noisyGradients are the input gradients of n noisy copies of each image
// (noise as SmoothGrad's, stream 1: SmoothGrad, SquareGrad and VarGrad see
// the same copies for a seed), split by copy: [n,N,H,W,C].
func noisyGradients(o *Ops, c *Context, n int, noise float32) (tf.Output, error) {
	noisy := c.NoisyCopies(o, c.Input, n, noise, 1)
	g, err := c.InputGradient(o, noisy, c.Repeat(o, c.Targets, n))
	if err != nil {
		return tf.Output{}, err
	}
	return c.Split(o, g, n), nil
}

// PixelGradient implements gradientMethod: the map is a pixel gradient
// magnitude (GradientMap).
func (SmoothGrad) PixelGradient() bool { return true }
