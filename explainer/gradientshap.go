package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[GradientSHAP]{
	Name: "gradient-shap", Family: FamilyInput, Order: 70,
	Summary: "GradientSHAP: mean over draws of (x − x′)⊙dy/dx at x′ + α(x − x′), x′ from a baseline distribution, α uniform, summed over channels, signed",
	Notes:   "Captum's GradientShap (its defaults: 5 samples, no input noise); baselines uniform noise over the image's range (default), zero or blur, where Captum samples a tensor of baselines the caller gives; seeded. Checked against a GradientTape reference of Captum's formula (no PyTorch here)",
	Options: []Option{
		{Name: "samples", Default: 5, Min: 1, Doc: "draws (forward + backward passes per image)"},
		{Name: "noise", Default: 0.0, Min: 0, Max: 100, Doc: "input noise σ as a fraction of the image's range"},
		{Name: "baseline", Default: "noise", Allowed: []string{"noise", "zero", "blur"}, Doc: "the baselines' distribution"},
	},
	Cost: func(m GradientSHAP, _ Geometry) Cost { return Cost{Copies: m.Samples} },
})

// GradientSHAP is Captum's GradientShap (Lundberg & Lee 2017's expected
// gradients): for each of Samples draws, a baseline x′ from a distribution,
// the input with optional Gaussian noise x̃ = x + σ·ε, and a point
// x′ + α(x̃ − x′) with α uniform in [0,1); the attribution is the mean over
// the draws of (x̃ − x′) ⊙ d score/dx at the point, summed over channels
// and signed, as IntegratedGradients. Captum draws each baseline from a
// tensor of baselines the caller gives; tfcam's distributions are
// "noise" (default: uniform over each image's value range, a fresh draw per
// sample), "zero" and "blur" (then it is a Monte Carlo integrated
// gradients). Defaults Captum's: 5 samples, no input noise (Noise is σ as a
// fraction of each image's value range, as SmoothGrad's). Seeded: the draws
// depend on Config.Seed and the sample, not the image. Cost: Samples forward
// and backward passes per image.
type GradientSHAP struct {
	// Samples is the number of draws.
	Samples int
	// Noise is the input noise σ as a fraction of each image's value range
	// (0: none).
	Noise float32
	// Baseline is the baselines' distribution: "noise", "zero" or "blur".
	Baseline string
}

// Name implements Method.
func (GradientSHAP) Name() string { return "gradient-shap" }

// Needs implements Method.
func (GradientSHAP) Needs() Needs { return Needs{} }

// InputResolution implements Method.
func (GradientSHAP) InputResolution() bool { return true }

// Signed implements signedMethod: attributions keep their sign.
func (GradientSHAP) Signed() bool { return true }

// Build implements Method.
func (m GradientSHAP) Build(o *Ops, t Tensors) (tf.Output, error) {
	m = Resolve(m)
	c := t.Ctx
	n := m.Samples
	x := c.Input
	axes := constant(o.s, []int32{1, 2, 3})
	lo := op.Min(o.Scope(), x, axes, op.MinKeepDims(true))
	hi := op.Max(o.Scope(), x, axes, op.MaxKeepDims(true))
	var base tf.Output // [n·N,H,W,C]
	switch m.Baseline {
	case "noise":
		base = o.Add(c.Repeat(o, lo, n), o.Mul(c.Uniform(o, x, n, 7), c.Repeat(o, o.Sub(hi, lo), n)))
	case "zero":
		base = op.ZerosLike(o.Scope(), c.Repeat(o, x, n))
	case "blur":
		base = c.Repeat(o, gaussianBlur(o, x), n)
	}
	inputs := c.Repeat(o, x, n)
	if m.Noise > 0 {
		inputs = c.NoisyCopies(o, x, n, m.Noise, 8)
	}
	// α per draw, the same for every image: [n·N,1,1,1].
	alpha := c.Uniform(o, lo, n, 9)
	diff := o.Sub(inputs, base)
	g, err := c.InputGradient(o, o.Add(base, o.Mul(alpha, diff)), c.Repeat(o, c.Targets, n))
	if err != nil {
		return tf.Output{}, err
	}
	return o.ChannelSum(c.MeanOfCopies(o, o.Mul(diff, g), n)), nil
}
