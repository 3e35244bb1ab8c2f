package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[AblationCAM]{
	Name: "ablationcam", Family: FamilyMore, Order: 30,
	Summary: "w_k = (y − y_k)/y, channel k zeroed, only the layers after the target re-run",
	Notes:   "not at a layer a residual connection bypasses (left out with a warning)",
	Cost:    func(_ AblationCAM, g Geometry) Cost { return Cost{TailCopies: g.K} },
})

// AblationCAM (Desai & Ramaswamy 2020): w_k = (y − y_k) / y, where y is the
// explained score and y_k the score with channel k of the target layer set
// to zero. The ablated activations are fed to a copy of the layers after
// the target (not the whole model), all K channels of all images as one
// batch of K·N.
type AblationCAM struct{}

// Name implements Method.
func (AblationCAM) Name() string { return "ablationcam" }

// Needs implements Method.
func (AblationCAM) Needs() Needs { return Needs{} }

// Weights implements WeightMethod.
func (AblationCAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	c := t.Ctx
	k := int(t.A.Shape().Size(3))
	// keep[j] is all ones but channel j: [K,1,1,1,K].
	keep := make([]float32, k*k)
	for i := range keep {
		if i%(k+1) != 0 {
			keep[i] = 1
		}
	}
	mask := op.Reshape(o.Scope(), constant(o.s, keep), constant(o.s, []int32{int32(k), 1, 1, 1, int32(k)}))
	ablated := o.Mul(mask, op.ExpandDims(o.Scope(), t.A, constant(o.s, int32(0)))) // [K,N,h,w,K]
	scores, err := c.TailScores(AblationCAM{}, op.Reshape(o.Scope(), ablated, o.shapeWithLead(t.A, -1)))
	if err != nil {
		return tf.Output{}, err
	}
	yk := c.Split(o, c.Select(o, scores, c.Repeat(o, c.Targets, k)), k)                // [K,N]
	y := op.ExpandDims(o.Scope(), c.Selected, constant(o.s, int32(0)))                 // [1,N]
	w := op.Transpose(o.Scope(), o.Div(o.Sub(y, yk), y), constant(o.s, []int32{1, 0})) // [N,K]
	w = op.ExpandDims(o.Scope(), op.ExpandDims(o.Scope(), w, constant(o.s, int32(1))), constant(o.s, int32(1)))
	return w, nil
}
