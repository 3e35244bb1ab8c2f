package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// Ops appends TensorFlow ops for a method. Every op gets its own uniquely
// named sub-scope (graft's scopes do not uniquify op names), so methods can
// call these freely. Shapes follow NHWC: activations and gradients are
// [N,h,w,K]; "spatial" means axes 1 and 2, "channel" axis 3.
type Ops struct {
	s *op.Scope
}

// constant adds a Const in its own sub-scope: graft does not uniquify op
// names, so two Consts in one scope would collide.
func constant(s *op.Scope, v any) tf.Output { return op.Const(s.SubScope("const"), v) }

func (o *Ops) sub(name string) *op.Scope { return o.s.SubScope(name) }

// Scope returns a fresh sub-scope for one raw graft op call.
func (o *Ops) Scope() *op.Scope { return o.s.SubScope("op") }

// Const is a float32 scalar constant.
func (o *Ops) Const(v float32) tf.Output { return op.Const(o.sub("const"), v) }

// Mul is x*y with broadcasting.
func (o *Ops) Mul(x, y tf.Output) tf.Output { return op.Mul(o.sub("mul"), x, y) }

// Add is x+y with broadcasting.
func (o *Ops) Add(x, y tf.Output) tf.Output { return op.AddV2(o.sub("add"), x, y) }

// Sub is x-y with broadcasting.
func (o *Ops) Sub(x, y tf.Output) tf.Output { return op.Sub(o.sub("sub"), x, y) }

// Div is x/y, 0 where y is 0.
func (o *Ops) Div(x, y tf.Output) tf.Output { return op.DivNoNan(o.sub("div"), x, y) }

// Relu is max(x, 0).
func (o *Ops) Relu(x tf.Output) tf.Output { return op.Relu(o.sub("relu"), x) }

// Square is x².
func (o *Ops) Square(x tf.Output) tf.Output { return op.Square(o.sub("square"), x) }

// Abs is |x|.
func (o *Ops) Abs(x tf.Output) tf.Output { return op.Abs(o.sub("abs"), x) }

// SpatialMean averages over h and w, keeping them as size 1: [N,1,1,K].
func (o *Ops) SpatialMean(x tf.Output) tf.Output {
	s := o.sub("spatial_mean")
	return op.Mean(s, x, constant(s, []int32{1, 2}), op.MeanKeepDims(true))
}

// SpatialSum sums over h and w, keeping them as size 1: [N,1,1,K].
func (o *Ops) SpatialSum(x tf.Output) tf.Output {
	s := o.sub("spatial_sum")
	return op.Sum(s, x, constant(s, []int32{1, 2}), op.SumKeepDims(true))
}

// ChannelSum sums over the last axis: [N,h,w,K] → [N,h,w].
func (o *Ops) ChannelSum(x tf.Output) tf.Output {
	s := o.sub("channel_sum")
	return op.Sum(s, x, constant(s, []int32{3}))
}

// ChannelMean averages over the last axis: [N,h,w,K] → [N,h,w].
func (o *Ops) ChannelMean(x tf.Output) tf.Output {
	s := o.sub("channel_mean")
	return op.Mean(s, x, constant(s, []int32{3}))
}

// ChannelMaxAbs is max_c |x_c|: [N,H,W,C] → [N,H,W].
func (o *Ops) ChannelMaxAbs(x tf.Output) tf.Output {
	s := o.sub("channel_max_abs")
	return op.Max(s, op.Abs(s, x), constant(s, []int32{3}))
}

// WeightedSum is Σ_k w_k A_k for weights [N,1,1,K]: the CAM of those weights.
func (o *Ops) WeightedSum(w, a tf.Output) tf.Output { return o.ChannelSum(o.Mul(w, a)) }

// Where is x where cond is true, else y.
func (o *Ops) Where(cond, x, y tf.Output) tf.Output { return op.Select(o.sub("where"), cond, x, y) }

// NonZero is x != 0.
func (o *Ops) NonZero(x tf.Output) tf.Output {
	s := o.sub("nonzero")
	return op.NotEqual(s, x, op.ZerosLike(s, x))
}

// SpatialSumFlat sums a flattened map [N,P,1] over P, keeping dims: [N,1,1].
func (o *Ops) SpatialSumFlat(x tf.Output) tf.Output {
	s := o.sub("flat_sum")
	return op.Sum(s, x, constant(s, []int32{1}), op.SumKeepDims(true))
}
