package explainer

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// contrast is class c against a fixed class d.
type contrast struct{ d int }

// Contrast explains class c against a fixed class d: S[:,c] = y_c − y_d on
// the class scores (Config.Score; logits by default): "why a husky and not
// a wolf". Ranking is by y (the same order as y − y_d).
func Contrast(d int) Objective { return contrast{d: d} }

func (ob contrast) String() string { return fmt.Sprintf("contrast:class=%d", ob.d) }

func (contrast) IsClass() bool { return false }

func (ob contrast) Build(b *ObjectiveBuild) (*ObjectiveGraph, error) {
	base := b.ClassScores()
	shape, err := base.Shape().ToSlice()
	if err != nil || len(shape) != 2 || shape[1] <= 0 {
		return nil, b.Misfit(ob, base, "class scores [N, classes]")
	}
	if ob.d < 0 || ob.d >= int(shape[1]) {
		return nil, &ObjectiveError{Objective: ob.String(), Tensor: base.Op.Name(), Shape: shape,
			Want: fmt.Sprintf("a contrast class in [0, %d)", shape[1])}
	}
	d := int32(ob.d)
	return &ObjectiveGraph{Base: base, Cols: int(shape[1]),
		Scores: func(o *Ops, x, _ tf.Output) tf.Output {
			y := b.Float32(x)
			yd := op.StridedSlice(o.Scope(), y, constant(o.s, []int32{0, d}), constant(o.s, []int32{0, d + 1}), constant(o.s, []int32{1, 1}),
				op.StridedSliceBeginMask(1), op.StridedSliceEndMask(1)) // [M,1]
			return o.Sub(y, yd)
		},
		Rank: identityRank}, nil
}
