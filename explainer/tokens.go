package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// Token layers [N,T,C] of Vision Transformers are explained on their patch
// grid: the prefix tokens (class, distillation, registers) are dropped and
// the rest reshaped to [N,rows,cols,C] (Config.Tokens, tfgraph.TokenView),
// for the activations and for their gradients alike; every method then runs
// unchanged on that view. Methods that feed modified activations back into
// the layers after the target (Ablation-CAM) get the inverse: the grid
// flattened back and the image's own prefix tokens restored in front.

// toGrid is x [M,T,C] (the target layer's tensor or its gradient) as the
// patch grid [M,rows,cols,C]; x itself for spatial layers.
func (e *Explainer) toGrid(x tf.Output) tf.Output {
	v := e.tokens
	if v == nil {
		return x
	}
	o := &Ops{s: e.root.SubScope("to_grid")}
	patches := op.Slice(o.Scope(), x, constant(o.s, []int32{0, int32(v.Prefix), 0}), constant(o.s, []int32{-1, -1, -1}))
	return op.Reshape(o.Scope(), patches, constant(o.s, []int32{-1, int32(v.Rows), int32(v.Cols), int32(e.k)}))
}

// fromGrid turns activations on the grid [M,rows,cols,C], copies of the
// batch stacked copy-major (row j·N+i is a copy of image i), back into the
// target layer's tokens [M,T,C], each copy with its image's prefix tokens,
// taken from layer (the layer's output [N,T,C] on the images copied).
func (e *Explainer) fromGrid(acts, layer tf.Output) tf.Output {
	v := e.tokens
	if v == nil {
		return acts
	}
	o := &Ops{s: e.root.SubScope("from_grid")}
	patches := op.Reshape(o.Scope(), acts, constant(o.s, []int32{-1, int32(v.Rows * v.Cols), int32(e.k)}))
	if v.Prefix == 0 {
		return patches
	}
	prefix := op.Slice(o.Scope(), layer, constant(o.s, []int32{0, 0, 0}), constant(o.s, []int32{-1, int32(v.Prefix), -1}))
	rows := func(x tf.Output) tf.Output {
		return op.StridedSlice(o.Scope(), op.Shape(o.Scope(), x, op.ShapeOutType(tf.Int32)),
			constant(o.s, []int32{0}), constant(o.s, []int32{1}), constant(o.s, []int32{1}))
	}
	copies := op.FloorDiv(o.Scope(), rows(acts), rows(prefix)) // [1]
	mult := op.ConcatV2(o.Scope(), []tf.Output{copies, constant(o.s, []int32{1, 1})}, constant(o.s, int32(0)))
	return op.ConcatV2(o.Scope(), []tf.Output{op.Tile(o.Scope(), prefix, mult), patches}, constant(o.s, int32(1)))
}
