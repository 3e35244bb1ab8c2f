package graphops

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// Ops appends ops under one scope, each in its own uniquely named
// sub-scope (graft's scopes do not uniquify op names, so two ops of one
// scope would collide), so callers can call these freely. Shapes follow
// NHWC: maps are [N,h,w,K]; "spatial" means axes 1 and 2, "channel" axis 3.
type Ops struct{ s *op.Scope }

// New returns an Ops appending under s.
func New(s *op.Scope) *Ops { return &Ops{s: s} }

// Scope returns a fresh sub-scope for one raw graft op call.
func (o *Ops) Scope() *op.Scope { return o.s.SubScope("op") }

// SubScope returns a sub-scope named name (made unique by graft's scope
// counter).
func (o *Ops) SubScope(name string) *op.Scope { return o.s.SubScope(name) }

// Err is the first error of any op appended under the scope.
func (o *Ops) Err() error { return o.s.Err() }

// Constant is a Const of any value graft takes, in its own sub-scope.
func Constant(s *op.Scope, v any) tf.Output { return op.Const(s.SubScope("const"), v) }

// Constant is a Const of any value graft takes.
func (o *Ops) Constant(v any) tf.Output { return Constant(o.s, v) }

// Const is a float32 scalar constant.
func (o *Ops) Const(v float32) tf.Output { return Constant(o.s, v) }

// Ints is an int32 constant: a scalar for one value, else a vector.
func (o *Ops) Ints(v ...int) tf.Output {
	if len(v) == 1 {
		return Constant(o.s, int32(v[0]))
	}
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return Constant(o.s, out)
}

// Mul is x*y with broadcasting.
func (o *Ops) Mul(x, y tf.Output) tf.Output { return op.Mul(o.s.SubScope("mul"), x, y) }

// Add is x+y with broadcasting.
func (o *Ops) Add(x, y tf.Output) tf.Output { return op.AddV2(o.s.SubScope("add"), x, y) }

// Sub is x-y with broadcasting.
func (o *Ops) Sub(x, y tf.Output) tf.Output { return op.Sub(o.s.SubScope("sub"), x, y) }

// Div is x/y, 0 where y is 0.
func (o *Ops) Div(x, y tf.Output) tf.Output { return op.DivNoNan(o.s.SubScope("div"), x, y) }

// Relu is max(x, 0).
func (o *Ops) Relu(x tf.Output) tf.Output { return op.Relu(o.s.SubScope("relu"), x) }

// Square is x².
func (o *Ops) Square(x tf.Output) tf.Output { return op.Square(o.s.SubScope("square"), x) }

// Abs is |x|.
func (o *Ops) Abs(x tf.Output) tf.Output { return op.Abs(o.s.SubScope("abs"), x) }

// SpatialMean averages over h and w, keeping them as size 1: [N,1,1,K].
func (o *Ops) SpatialMean(x tf.Output) tf.Output {
	s := o.s.SubScope("spatial_mean")
	return op.Mean(s, x, Constant(s, []int32{1, 2}), op.MeanKeepDims(true))
}

// SpatialSum sums over h and w, keeping them as size 1: [N,1,1,K].
func (o *Ops) SpatialSum(x tf.Output) tf.Output {
	s := o.s.SubScope("spatial_sum")
	return op.Sum(s, x, Constant(s, []int32{1, 2}), op.SumKeepDims(true))
}

// ChannelSum sums over the last axis: [N,h,w,K] → [N,h,w].
func (o *Ops) ChannelSum(x tf.Output) tf.Output {
	s := o.s.SubScope("channel_sum")
	return op.Sum(s, x, Constant(s, []int32{3}))
}

// ChannelMaxAbs is max_c |x_c|: [N,H,W,C] → [N,H,W].
func (o *Ops) ChannelMaxAbs(x tf.Output) tf.Output {
	s := o.s.SubScope("channel_max_abs")
	return op.Max(s, op.Abs(s, x), Constant(s, []int32{3}))
}

// WeightedSum is Σ_k w_k A_k for weights [N,1,1,K]: the CAM of those weights.
func (o *Ops) WeightedSum(w, a tf.Output) tf.Output { return o.ChannelSum(o.Mul(w, a)) }

// Where is x where cond is true, else y (same shapes).
func (o *Ops) Where(cond, x, y tf.Output) tf.Output {
	return op.Select(o.s.SubScope("where"), cond, x, y)
}

// WhereBroadcast is x where cond, else y, broadcasting the three
// (SelectV2, which graft's op package does not wrap).
func (o *Ops) WhereBroadcast(cond, x, y tf.Output) tf.Output {
	sel := o.s.SubScope("where").AddOperation(tf.OpSpec{Type: "SelectV2", Input: []tf.Input{cond, x, y}})
	if sel == nil {
		return tf.Output{}
	}
	return sel.Output(0)
}

// NonZero is x != 0.
func (o *Ops) NonZero(x tf.Output) tf.Output {
	s := o.s.SubScope("nonzero")
	return op.NotEqual(s, x, op.ZerosLike(s, x))
}

// SpatialSumFlat sums a flattened map [N,P,1] over P, keeping dims: [N,1,1].
func (o *Ops) SpatialSumFlat(x tf.Output) tf.Output {
	s := o.s.SubScope("flat_sum")
	return op.Sum(s, x, Constant(s, []int32{1}), op.SumKeepDims(true))
}

// ShapeWithLead is x's shape with its first dimension replaced by lead.
func (o *Ops) ShapeWithLead(x tf.Output, lead int32) tf.Output {
	shape := op.Shape(o.Scope(), x, op.ShapeOutType(tf.Int32))
	rest := op.StridedSlice(o.Scope(), shape, o.Constant([]int32{1}), o.Constant([]int32{0}), o.Constant([]int32{1}), op.StridedSliceEndMask(1))
	return op.ConcatV2(o.Scope(), []tf.Output{o.Constant([]int32{lead}), rest}, o.Constant(int32(0)))
}
