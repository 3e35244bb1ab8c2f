package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[IntegratedGradients]{
	Name: "integrated-gradients", Family: FamilyInput, Order: 30,
	Summary: "path integral from a baseline, trapezoid rule",
	Notes:   "= Xplique IntegratedGradients (zero baseline)",
	Options: []Option{
		{Name: "steps", Default: 32, Min: 2, Doc: "path points"},
		{Name: "baseline", Default: "zero", Allowed: []string{"zero", "blur", "noise"}, Doc: "where the path starts"},
	},
	Cost: func(m IntegratedGradients, _ Geometry) Cost { return Cost{Copies: m.Steps} },
})

// IntegratedGradients (Sundararajan et al. 2017): the input's difference
// from a baseline x′ times the gradient averaged along the straight path
// x′ + α(x − x′), α = 0, 1/(m−1), …, 1, with the trapezoid rule (the
// variant of Xplique). The map is the attribution summed over channels,
// signed (no ReLU): positive and negative evidence. By completeness its sum
// approaches F(x) − F(x′) as Steps grows.
//
// Baselines: "zero" (the value 0 in the model's input space: black for the
// raw and unit presets), "blur" (the image under a Gaussian blur of σ =
// max(H,W)/32 px) and "noise" (uniform noise over each image's value range,
// seeded). All m path points go through the model as one batch.
type IntegratedGradients struct {
	Steps    int
	Baseline string
}

// Name implements Method.
func (IntegratedGradients) Name() string { return "integrated-gradients" }

// Needs implements Method.
func (IntegratedGradients) Needs() Needs { return Needs{} }

// InputResolution implements Method.
func (IntegratedGradients) InputResolution() bool { return true }

// Signed implements signedMethod: attributions keep their sign.
func (IntegratedGradients) Signed() bool { return true }

// Build implements Method.
func (m IntegratedGradients) Build(o *Ops, t Tensors) (tf.Output, error) {
	m = Resolve(m)
	steps := m.Steps
	c := t.Ctx
	x := c.Input
	var base tf.Output
	switch m.Baseline {
	case "zero":
		base = op.ZerosLike(o.Scope(), x)
	case "blur":
		base = gaussianBlur(o, x)
	case "noise":
		axes := constant(o.s, []int32{1, 2, 3})
		lo := op.Min(o.Scope(), x, axes, op.MinKeepDims(true))
		hi := op.Max(o.Scope(), x, axes, op.MaxKeepDims(true))
		base = o.Add(lo, o.Mul(c.Uniform(o, x, 1, 2), o.Sub(hi, lo)))
	}
	// α_j for copy j, as a [steps·N,1,1,1] column.
	alphas := make([]float32, steps)
	for j := range alphas {
		alphas[j] = float32(j) / float32(steps-1)
	}
	alpha := op.Reshape(o.Scope(), constant(o.s, alphas), constant(o.s, []int32{int32(steps), 1, 1, 1, 1}))
	diff := o.Sub(x, base)
	path := o.Add(c.Repeat(o, base, steps), op.Reshape(o.Scope(), o.Mul(alpha, op.ExpandDims(o.Scope(), diff, constant(o.s, int32(0)))), o.shapeWithLead(x, -1)))
	g, err := c.InputGradient(o, path, c.Repeat(o, c.Targets, steps))
	if err != nil {
		return tf.Output{}, err
	}
	// Trapezoid: (Σ_j g_j − (g_0 + g_last)/2) / (steps − 1).
	split := c.Split(o, g, steps)
	total := op.Sum(o.Scope(), split, constant(o.s, int32(0)))
	ends := o.Add(op.Gather(o.Scope(), split, constant(o.s, int32(0))), op.Gather(o.Scope(), split, constant(o.s, int32(steps-1))))
	avg := o.Mul(o.Sub(total, o.Mul(ends, o.Const(0.5))), o.Const(1/float32(steps-1)))
	return o.ChannelSum(o.Mul(diff, avg)), nil
}
