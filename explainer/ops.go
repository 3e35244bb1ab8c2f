package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/internal/graphops"
)

// Ops appends TensorFlow ops for a method. Every op gets its own uniquely
// named sub-scope (graft's scopes do not uniquify op names), so methods can
// call these freely. Shapes follow NHWC: activations and gradients are
// [N,h,w,K]; "spatial" means axes 1 and 2, "channel" axis 3. It is a thin
// wrapper of the graph ops the package shares with package evaluate.
type Ops struct {
	s *op.Scope
}

// g is o's shared implementation.
func (o *Ops) g() *graphops.Ops { return graphops.New(o.s) }

// constant adds a Const in its own sub-scope.
func constant(s *op.Scope, v any) tf.Output { return graphops.Constant(s, v) }

// Scope returns a fresh sub-scope for one raw graft op call.
func (o *Ops) Scope() *op.Scope { return o.s.SubScope("op") }

// Const is a float32 scalar constant.
func (o *Ops) Const(v float32) tf.Output { return o.g().Const(v) }

// Mul is x*y with broadcasting.
func (o *Ops) Mul(x, y tf.Output) tf.Output { return o.g().Mul(x, y) }

// Add is x+y with broadcasting.
func (o *Ops) Add(x, y tf.Output) tf.Output { return o.g().Add(x, y) }

// Sub is x-y with broadcasting.
func (o *Ops) Sub(x, y tf.Output) tf.Output { return o.g().Sub(x, y) }

// Div is x/y, 0 where y is 0.
func (o *Ops) Div(x, y tf.Output) tf.Output { return o.g().Div(x, y) }

// Relu is max(x, 0).
func (o *Ops) Relu(x tf.Output) tf.Output { return o.g().Relu(x) }

// Square is x².
func (o *Ops) Square(x tf.Output) tf.Output { return o.g().Square(x) }

// Abs is |x|.
func (o *Ops) Abs(x tf.Output) tf.Output { return o.g().Abs(x) }

// SpatialMean averages over h and w, keeping them as size 1: [N,1,1,K].
func (o *Ops) SpatialMean(x tf.Output) tf.Output { return o.g().SpatialMean(x) }

// SpatialSum sums over h and w, keeping them as size 1: [N,1,1,K].
func (o *Ops) SpatialSum(x tf.Output) tf.Output { return o.g().SpatialSum(x) }

// ChannelSum sums over the last axis: [N,h,w,K] → [N,h,w].
func (o *Ops) ChannelSum(x tf.Output) tf.Output { return o.g().ChannelSum(x) }

// ChannelMean averages over the last axis: [N,h,w,K] → [N,h,w].
func (o *Ops) ChannelMean(x tf.Output) tf.Output {
	s := o.Scope()
	return op.Mean(s, x, constant(o.s, []int32{3}))
}

// ChannelMaxAbs is max_c |x_c|: [N,H,W,C] → [N,H,W].
func (o *Ops) ChannelMaxAbs(x tf.Output) tf.Output { return o.g().ChannelMaxAbs(x) }

// Where is x where cond is true, else y.
func (o *Ops) Where(cond, x, y tf.Output) tf.Output { return o.g().Where(cond, x, y) }

// NonZero is x != 0.
func (o *Ops) NonZero(x tf.Output) tf.Output { return o.g().NonZero(x) }

// SpatialSumFlat sums a flattened map [N,P,1] over P, keeping dims: [N,1,1].
func (o *Ops) SpatialSumFlat(x tf.Output) tf.Output { return o.g().SpatialSumFlat(x) }

// MinMax scales each map of m [M,H,W] to [0,1]; a flat map becomes 0.
func (o *Ops) MinMax(m tf.Output) tf.Output { return o.g().MinMax(m, 0) }

// GaussianBlur blurs each channel of x [N,H,W,C] with a Gaussian of
// standard deviation sigma px, radius 3σ (separable, reflected borders).
func (o *Ops) GaussianBlur(x tf.Output, sigma float64) tf.Output {
	return o.g().GaussianBlur(x, graphops.BlurRadius(sigma), sigma)
}

// shapeWithLead is x's shape with its first dimension replaced by lead.
func (o *Ops) shapeWithLead(x tf.Output, lead int32) tf.Output { return o.g().ShapeWithLead(x, lead) }
