package explainer

import (
	"fmt"
	"math"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// embedding is similarity to a reference vector.
type embedding struct {
	ref   []float32
	layer string // "": the model's output
}

// Embedding explains similarity to a reference: S[n,0] = cos(e_n, ref),
// where e_n is the model's output [N,D] or, when layer is not "", that
// layer's output flattened (pytorch-grad-cam's
// SimilarityToConceptTarget; cosine with ‖·‖‖·‖ floored at 1e-8 as in
// torch.nn.CosineSimilarity). ref's length must be e_n's; EmbeddingOf
// computes one from an image. S has one column.
func Embedding(ref []float32, layer string) Objective {
	return embedding{ref: ref, layer: layer}
}

func (ob embedding) String() string {
	if ob.layer != "" {
		return fmt.Sprintf("embedding:layer=%s", ob.layer)
	}
	return "embedding"
}

func (embedding) IsClass() bool { return false }

func (ob embedding) Build(b *ObjectiveBuild) (*ObjectiveGraph, error) {
	base := b.Forward.Output
	if ob.layer != "" {
		l, err := b.Forward.Layer(ob.layer)
		if err != nil {
			return nil, err
		}
		base = l.Output
	}
	d, err := flatSize(base)
	if err != nil {
		return nil, b.Misfit(ob, base, "a per-image output or layer [N,...] of known size")
	}
	if len(ob.ref) != d {
		shape, _ := base.Shape().ToSlice()
		return nil, &ObjectiveError{Objective: ob.String(), Tensor: base.Op.Name(), Shape: shape,
			Want: fmt.Sprintf("a reference vector of its %d values per image, not %d", d, len(ob.ref))}
	}
	ref := constant(b.Ops("objective_ref").s, ob.ref)
	refNorm := float32(0)
	for _, v := range ob.ref {
		refNorm += v * v
	}
	refNorm = float32(math.Sqrt(float64(refNorm)))
	return &ObjectiveGraph{Base: base, Cols: 1,
		Scores: func(o *Ops, y, _ tf.Output) tf.Output {
			x := op.Reshape(o.Scope(), b.Float32(y), constant(o.s, []int32{-1, int32(d)}))
			one := constant(o.s, []int32{1})
			dot := op.Sum(o.Scope(), o.Mul(x, ref), one, op.SumKeepDims(true))
			norm := op.Sqrt(o.Scope(), op.Sum(o.Scope(), o.Square(x), one, op.SumKeepDims(true)))
			den := op.Maximum(o.Scope(), o.Mul(norm, o.Const(refNorm)), o.Const(1e-8))
			return op.RealDiv(o.Scope(), dot, den)
		},
		Rank: identityRank}, nil
}
