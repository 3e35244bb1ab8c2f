package explainer

import tf "github.com/wamuir/graft/tensorflow"

var _ = Register(Spec[GradientInput]{
	Name: "gradient-input", Family: FamilyInput, Order: 40,
	Summary: "x ⊙ dy/dx, summed over channels, signed",
	Notes:   "= Xplique GradientInput (its channel mean: the same normalised map); one forward + backward pass",
	Cost:    func(GradientInput, Geometry) Cost { return Cost{Copies: 1} },
})

// GradientInput (Shrikumar et al. 2016) is the input times its gradient,
// x ⊙ d score / d x, summed over channels and signed (no ReLU), as
// IntegratedGradients: the first-order Taylor term of the score. Xplique's
// GradientInput reduces channels with its default reducer, the mean: the
// same map divided by the channel count (identical once normalised).
// Cost: one forward and one backward pass.
type GradientInput struct{}

// Name implements Method.
func (GradientInput) Name() string { return "gradient-input" }

// Needs implements Method.
func (GradientInput) Needs() Needs { return Needs{} }

// InputResolution implements Method.
func (GradientInput) InputResolution() bool { return true }

// Signed implements signedMethod: attributions keep their sign.
func (GradientInput) Signed() bool { return true }

// Build implements Method.
func (GradientInput) Build(o *Ops, t Tensors) (tf.Output, error) {
	c := t.Ctx
	g, err := c.InputGradient(o, c.Input, c.Targets)
	if err != nil {
		return tf.Output{}, err
	}
	return o.ChannelSum(o.Mul(c.Input, g)), nil
}
