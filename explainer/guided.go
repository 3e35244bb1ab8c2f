package explainer

import tf "github.com/wamuir/graft/tensorflow"

var _ = Register(Spec[GuidedBackprop]{
	Name: "guided-backprop", Family: FamilyGradient, Order: 80,
	Summary: "input gradient with guided ReLUs, max over channels",
	Notes:   "= Xplique GuidedBackprop (plain-ReLU models)",
})

var _ = Register(Spec[GuidedGradCAM]{
	Name: "guided-gradcam", Family: FamilyGradient, Order: 90,
	Summary: "guided backprop ⊙ upsampled Grad-CAM",
})

// GuidedBackprop is guided backpropagation (Springenberg et al. 2015): the
// input gradient of the class score with every ReLU's backward pass also
// dropping negative gradients. The map is max_c |guided gradient_c| over the
// colour channels (the saliency-map reduction of Simonyan et al.).
type GuidedBackprop struct{}

// Name implements Method.
func (GuidedBackprop) Name() string { return "guided-backprop" }

// Needs implements Method.
func (GuidedBackprop) Needs() Needs { return Needs{GuidedInputGrad: true} }

// InputResolution implements Method.
func (GuidedBackprop) InputResolution() bool { return true }

// Build implements Method.
func (GuidedBackprop) Build(o *Ops, t Tensors) (tf.Output, error) {
	return o.ChannelMaxAbs(t.Guided), nil
}

// GuidedGradCAM is Guided Grad-CAM (Selvaraju et al. 2017): guided
// backpropagation multiplied pixel-wise by the ReLU'd Grad-CAM map upsampled
// to the input, then reduced over channels as GuidedBackprop is (the Grad-CAM
// factor is non-negative, so the order does not matter).
type GuidedGradCAM struct{}

// Name implements Method.
func (GuidedGradCAM) Name() string { return "guided-gradcam" }

// Needs implements Method.
func (GuidedGradCAM) Needs() Needs { return Needs{LayerGrad: true, GuidedInputGrad: true} }

// InputResolution implements Method.
func (GuidedGradCAM) InputResolution() bool { return true }

// Build implements Method.
func (GuidedGradCAM) Build(o *Ops, t Tensors) (tf.Output, error) {
	cam, _, _, err := buildMap(GradCAM{}, o, t, false)
	if err != nil {
		return tf.Output{}, err
	}
	return o.Mul(o.ChannelMaxAbs(t.Guided), t.Upsample(o.Relu(cam))), nil
}

// PixelGradient implements gradientMethod: the map is a pixel gradient
// magnitude (GradientMap).
func (GuidedBackprop) PixelGradient() bool { return true }

// PixelGradient implements gradientMethod: guided backpropagation's pixel
// gradients, masked by Grad-CAM (GradientMap).
func (GuidedGradCAM) PixelGradient() bool { return true }
