package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// Mixed-precision models (keras mixed_float16, mixed_bfloat16) compute
// their layers, and possibly their scores, in half precision. tfcam takes
// gradients with respect to those tensors as they are (the backward pass
// runs in the model's own dtype, as tf.GradientTape's does), then casts
// activations, gradients and scores to float32 before any method's
// formula: the maps are computed in float32, and activations edited or
// masked by a method are cast back to the layer's dtype before the model
// reads them again.

// float32Of is x cast to float32, or x itself when it is float32 already.
func (e *Explainer) float32Of(x tf.Output) tf.Output {
	if x.Op == nil || x.DataType() == tf.Float {
		return x
	}
	return op.Cast(e.root.SubScope("float32"), x, tf.Float)
}

// asLayerDType is x (float32) cast to the target layer's dtype, to be fed
// where the layer's output was.
func (e *Explainer) asLayerDType(x tf.Output) tf.Output {
	dt := e.layer.Output.DataType()
	if x.Op == nil || x.DataType() == dt {
		return x
	}
	return op.Cast(e.root.SubScope("layer_dtype"), x, dt)
}
