package explainer

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// regression is a single output's objective.
type regression struct {
	// sign +1 explains the output by default, −1 its negative.
	sign int
}

// Regression explains a single output [N] or [N,1]: S = [y, −y], column 0
// the output, column 1 its negative. sign +1 makes column 0 the default
// (Top1) target, −1 column 1; Classes picks either explicitly.
func Regression(sign int) Objective { return regression{sign: sign} }

func (ob regression) String() string {
	if ob.sign < 0 {
		return "regression:sign=-1"
	}
	return "regression"
}

func (regression) IsClass() bool { return false }

func (ob regression) Build(b *ObjectiveBuild) (*ObjectiveGraph, error) {
	base := b.Forward.Output
	shape, err := base.Shape().ToSlice()
	if err != nil || !(len(shape) == 1 || (len(shape) == 2 && shape[1] == 1)) {
		return nil, b.Misfit(ob, base, "a single output per image, [N] or [N,1] (choose the output with tfgraph.LoadOptions.Output)")
	}
	if ob.sign != 1 && ob.sign != -1 {
		return nil, &ObjectiveError{Objective: ob.String(), Tensor: base.Op.Name(), Shape: shape, Want: fmt.Sprintf("sign +1 or -1, not %d", ob.sign)}
	}
	first := []float32{1, 0}
	if ob.sign < 0 {
		first = []float32{0, 1}
	}
	return &ObjectiveGraph{Base: base, Cols: 2,
		Scores: func(o *Ops, x, _ tf.Output) tf.Output {
			y := op.Reshape(o.Scope(), b.Float32(x), constant(o.s, []int32{-1, 1}))
			return op.ConcatV2(o.Scope(), []tf.Output{y, op.Neg(o.Scope(), y)}, constant(o.s, int32(1)))
		},
		Rank: func(o *Ops, s tf.Output) tf.Output {
			return o.Add(op.ZerosLike(o.Scope(), s), constant(o.s, first))
		}}, nil
}
