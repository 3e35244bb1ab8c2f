package explainer

import tf "github.com/wamuir/graft/tensorflow"

var _ = Register(Spec[Saliency]{
	Name: "saliency", Family: FamilyInput, Order: 10,
	Summary: "max_c |dy/dx|",
	Notes:   "= Xplique Saliency",
	Cost:    func(Saliency, Geometry) Cost { return Cost{Copies: 1} },
})

// Saliency is the vanilla gradient map (Simonyan et al. 2014):
// max_c |d score / d x_c| per pixel. Xplique's Saliency is the same.
type Saliency struct{}

// Name implements Method.
func (Saliency) Name() string { return "saliency" }

// Needs implements Method.
func (Saliency) Needs() Needs { return Needs{} }

// InputResolution implements Method.
func (Saliency) InputResolution() bool { return true }

// Build implements Method.
func (Saliency) Build(o *Ops, t Tensors) (tf.Output, error) {
	g, err := t.Ctx.InputGradient(o, t.Ctx.Input, t.Ctx.Targets)
	if err != nil {
		return tf.Output{}, err
	}
	return o.ChannelMaxAbs(g), nil
}

// PixelGradient implements gradientMethod: the map is a pixel gradient
// magnitude (GradientMap).
func (Saliency) PixelGradient() bool { return true }
