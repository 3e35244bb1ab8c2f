package explainer

import (
	"errors"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/tfgraph"
)

var _ = Register(Spec[CAM]{
	Name: "cam", Family: FamilyMore, Order: 20,
	Summary: "CAM: w = Dense kernel column",
	Notes:   "GAP + Dense heads only (elsewhere left out with a warning, see below)",
})

// CAM is the original class activation map (Zhou et al. 2016) for models
// whose target layer feeds global average pooling and then the Dense
// classifier: w_k = W[k, c], the Dense kernel's weight from channel k to the
// class. Other heads are refused with an error naming the layer.
type CAM struct{}

// Name implements Method.
func (CAM) Name() string { return "cam" }

// Needs implements Method.
func (CAM) Needs() Needs { return Needs{} }

// Weights implements WeightMethod.
func (CAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	kernel, err := t.Ctx.DenseHead()
	if errors.Is(err, tfgraph.ErrNoDenseHead) {
		// Grad-CAM equals CAM on exactly the heads CAM takes; elsewhere
		// it is a different map, the nearest that applies.
		return tf.Output{}, t.Ctx.notApplicable(CAM{}, "CAM's weights are the Dense kernel of a global-average-pooling + Dense head right after the layer", "gradcam applies to any head (on such a head it is the same map as CAM)", err)
	}
	if err != nil {
		return tf.Output{}, err
	}
	// Columns of the kernel for each image's class: [N, K] → [N,1,1,K].
	cols := op.Gather(o.Scope(), op.Transpose(o.Scope(), kernel, constant(o.s, []int32{1, 0})), t.Ctx.Targets)
	w := op.Reshape(o.Scope(), cols, o.shapeWithLead(cols, -1))
	w = op.ExpandDims(o.Scope(), op.ExpandDims(o.Scope(), w, constant(o.s, int32(1))), constant(o.s, int32(1)))
	return w, nil
}
