package explainer

import (
	"errors"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/tfgraph"
)

var _ = Register(Spec[ShapleyCAM]{
	Name: "shapleycam", Family: FamilyMore, Order: 160,
	Summary: "w = mean(g − ½·H·A), H·A a Hessian-vector product (a second gradient through the first)",
	Notes:   "= pytorch-grad-cam's ShapleyCAM formula; = Grad-CAM where the score is piecewise linear in the layer (ReLU nets, logits); max-pools above the layer rewritten for the second gradient (checked at vgg's block2_conv2); left out with a warning where the model's gradient has an op TensorFlow cannot differentiate twice (a ViT's StridedSliceGrad, depthwise-conv backprop); checked against pytorch-grad-cam 1.5.x's formula, not the library (no torch here)",
})

// ShapleyCAM (Cai et al. 2025, "CAMs as Shapley value-based explainers";
// pytorch-grad-cam's ShapleyCAM): Grad-CAM's weights with a second-order
// term, w_k = mean_ij (g − ½·H·A)_ijk, where H·A is the Hessian of the
// class score at the layer applied to the activations (a Hessian-vector
// product: the gradient of g·A with A held fixed). The map is Σ_k w_k A_k.
//
// Where the score is piecewise linear in the layer's activations (ReLU and
// max-pool layers up to a linear head, explaining logits) H·A is zero and
// ShapleyCAM is Grad-CAM; it differs through smooth non-linearities (swish,
// GELU, LayerNorm, softmax when explaining probabilities). TensorFlow's C++
// registry lacks the gradients of some gradient ops (tfgraph.HessianVector
// writes the activations' and max-pooling's out; StridedSliceGrad, as in
// Keras ViTs' class token, and depthwise-convolution backprop remain): there ShapleyCAM does not apply and is left out with a
// NotApplicableError.
type ShapleyCAM struct{}

// Name implements Method.
func (ShapleyCAM) Name() string { return "shapleycam" }

// Needs implements Method.
func (ShapleyCAM) Needs() Needs { return Needs{LayerGrad: true} }

// Weights implements WeightMethod.
func (ShapleyCAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	hv, err := t.Ctx.LayerHessianProduct(o)
	if errors.Is(err, tfgraph.ErrNoGradient) {
		return tf.Output{}, t.Ctx.notApplicable(ShapleyCAM{}, "its Hessian-vector product is a gradient of the gradient, and the model's gradient uses an op TensorFlow cannot differentiate again",
			"use gradcam (ShapleyCAM without its second-order term)", err)
	}
	if err != nil {
		return tf.Output{}, err
	}
	w := o.SpatialMean(o.Sub(t.G, o.Mul(o.Const(0.5), hv)))
	return w, nil
}
