package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[RandomCAM]{
	Name: "randomcam", Family: FamilyMore, Order: 130,
	Summary: "w_k uniform in [−1,1]: the sanity baseline",
	Notes:   "seeded (`--seed`): one draw per seed for every image and batch (pytorch-grad-cam draws anew per image); checked against pytorch-grad-cam 1.5.x's formula, not the library (no torch here)",
})

// randomCAMStream is RandomCAM's random stream under Config.Seed.
const randomCAMStream = 15

// RandomCAM is the sanity baseline of pytorch-grad-cam's RandomCAM: channel
// weights drawn uniformly from [-1, 1], the map Σ_k w_k A_k. A method that
// does no better than this on a metric says little. The weights come from
// Config.Seed alone — the same draw for every image, class and batch, so a
// map is reproducible and does not depend on the batch the image is in
// (pytorch-grad-cam draws anew for every image and call).
type RandomCAM struct{}

// Name implements Method.
func (RandomCAM) Name() string { return "randomcam" }

// Needs implements Method.
func (RandomCAM) Needs() Needs { return Needs{} }

// Weights implements WeightMethod.
func (RandomCAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	shape := op.Shape(o.Scope(), t.A, op.ShapeOutType(tf.Int32))
	k := op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{3}), constant(o.s, []int32{4}), constant(o.s, []int32{1}))
	u := op.StatelessRandomUniform(o.Scope(), k, constant(o.s, []int64{t.Ctx.Seed, randomCAMStream}))
	w := o.Sub(o.Mul(o.Const(2), u), o.Const(1)) // [K], 2u − 1
	return w, nil
}
