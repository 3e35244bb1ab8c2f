package explainer

import (
	"context"
	"errors"
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/tfgraph"
)

// Objective says what a column of the explained scores is: a transform of
// the model's output into a virtual score matrix S [N, C'] whose column c is
// "the thing to explain". Every method explains column Targets of S, so
// each works unchanged under every objective: the gradient methods through
// the score's gradient, the perturbation methods by re-scoring their copies
// through the same transform. A nil Config.Objective is ClassScores: the
// model's class scores (Config.Score).
//
// Ranking (Top1, TopK, and Result.Predictions' order) follows the
// objective: see each constructor. Each objective is one file
// (objective_*.go); an embedder adds one by implementing the interface.
type Objective interface {
	// String names the objective as the CLI's --target spells it.
	String() string
	// IsClass reports whether S is the model's class scores themselves
	// (ClassScores): the explainer then reads the inlined scores unchanged.
	IsClass() bool
	// Build resolves the objective on a model (the score kind, the
	// output's shape): what S is computed from and how. It returns an
	// *ObjectiveError when the objective does not fit the model.
	Build(b *ObjectiveBuild) (*ObjectiveGraph, error)
}

// ObjectiveBuild is what an Objective's Build reads: the model's forward
// pass and the explainer's settings, and helpers to build S's graph.
type ObjectiveBuild struct {
	// Forward is the inlined forward pass (its Output, Logits, Layer).
	Forward *tfgraph.Forward
	// Score is Config.Score: logits or probabilities.
	Score tfgraph.ScoreKind
	e     *Explainer
}

// Ops returns graph helpers in a sub-scope of the explainer's graph.
func (b *ObjectiveBuild) Ops(name string) *Ops { return &Ops{s: b.e.root.SubScope(name)} }

// Float32 casts a tensor of a mixed-precision model to float32 (x itself
// when it is float32).
func (b *ObjectiveBuild) Float32(x tf.Output) tf.Output { return b.e.float32Of(x) }

// ClassScores is the tensor the class scores are read from: the logits
// under Score Logits, else the model's output.
func (b *ObjectiveBuild) ClassScores() tf.Output {
	if b.Score == tfgraph.Logits {
		out, _ := b.Forward.Logits()
		return out
	}
	return b.Forward.Output
}

// Misfit is the *ObjectiveError of objective o on tensor t, which needs
// want.
func (b *ObjectiveBuild) Misfit(o Objective, t tf.Output, want string) error {
	shape, _ := t.Shape().ToSlice()
	return &ObjectiveError{Objective: o.String(), Tensor: t.Op.Name(), Shape: shape, Want: want}
}

// ObjectiveGraph is an objective built on one model: the inlined tensor
// it reads (twinned in forward copies), its transform into S, and the
// original image's per-image parameters.
type ObjectiveGraph struct {
	// Base is the inlined tensor S is computed from.
	Base tf.Output
	// Cols is S's number of columns.
	Cols int
	// Param is the original batch's per-image parameter [N,...] (the
	// predicted region mask), or nil; for copies it is tiled over their
	// copy-major rows before they are split into chunks, so that every
	// row keeps its own image's parameter.
	Param tf.Output
	// Scores maps Base (or a copy's twin of it, [M,...] with M = j·N
	// copy-major rows) and Param row-aligned with it to S [M, Cols].
	Scores func(o *Ops, base, param tf.Output) tf.Output
	// Reach: S must also read the model's output (times zero) when it is
	// computed from logits under the output's softmax. TensorFlow's C++
	// gradient builder otherwise refuses the 4-D segmentation softmax left
	// hanging off the logits ("Cannot compute the partial derivative for
	// node .../Softmax as it's unreachable from the output node(s)"),
	// which it does not for a [N,C] head.
	Reach bool
	// Rank orders the columns of the original batch [N, Cols] (top-k).
	Rank func(o *Ops, s tf.Output) tf.Output
}

// identityRank ranks S's columns by S.
func identityRank(_ *Ops, s tf.Output) tf.Output { return s }

// buildObjective resolves ob (nil: ClassScores) on e's model.
func buildObjective(ob Objective, e *Explainer) (*ObjectiveGraph, error) {
	if ob == nil {
		ob = ClassScores()
	}
	return ob.Build(&ObjectiveBuild{Forward: e.fw, Score: e.cfg.Score, e: e})
}

// ErrObjective is wrapped by every ObjectiveError.
var ErrObjective = errors.New("target does not fit the model's output")

// ObjectiveError reports an objective that does not fit the tensor it
// reads (a region target on a [N,C] output, regression on [N,10]), found by
// New before any image is read.
type ObjectiveError struct {
	// Objective is the objective as --target spells it.
	Objective string
	// Tensor names the tensor it reads, Shape is that tensor's shape.
	Tensor string
	Shape  []int64
	// Want says what fits.
	Want string
}

func (e *ObjectiveError) Error() string {
	return fmt.Sprintf("explainer: target %s reads %s of shape %v; it needs %s", e.Objective, e.Tensor, e.Shape, e.Want)
}

// Unwrap returns ErrObjective.
func (e *ObjectiveError) Unwrap() error { return ErrObjective }

// detached returns x's value through a per-run stack (push, then pop
// after it), so that no data edge leads from the model to the result.
// StopGradient is not enough: TensorFlow's C++ gradient builder then
// still waits for a gradient along the argmax branch and returns none for
// the layer. Each Session.Run creates its own stack, so concurrent runs do
// not share it.
func detached(o *Ops, x tf.Output) tf.Output {
	stack := op.StackV2(o.Scope(), constant(o.s, int32(1)), x.DataType())
	push := op.StackPushV2(o.Scope(), stack, x)
	pop := op.StackPopV2(o.s.SubScope("pop").WithControlDependencies(push.Op), stack, x.DataType())
	// The pop's shape is unknown to the graph: restore x's.
	return op.EnsureShape(o.Scope(), pop, x.Shape())
}

// tileRows tiles p [N,...] (a per-image parameter of the original batch)
// over the copy-major rows of b [M,...], M = j·N: copy j of image i, at row
// j·N+i, gets image i's p. M not a multiple of N fails the run.
func tileRows(o *Ops, p, b tf.Output) tf.Output {
	rows := op.Shape(o.Scope(), b, op.ShapeOutType(tf.Int32))
	n := op.Shape(o.Scope(), p, op.ShapeOutType(tf.Int32))
	first := func(x tf.Output) tf.Output {
		return op.StridedSlice(o.Scope(), x, constant(o.s, []int32{0}), constant(o.s, []int32{1}), constant(o.s, []int32{1}), op.StridedSliceShrinkAxisMask(1))
	}
	m, k := first(rows), first(n)
	check := op.Assert(o.Scope(), op.Equal(o.Scope(), op.FloorMod(o.Scope(), m, k), constant(o.s, int32(0))),
		[]tf.Output{constant(o.s, "explainer: objective parameters: copy rows not a multiple of the batch"), m, k})
	after := &Ops{s: o.s.SubScope("tiled").WithControlDependencies(check)}
	rank := p.Shape().NumDimensions()
	ones := make([]int32, rank-1)
	for i := range ones {
		ones[i] = 1
	}
	mult := op.ConcatV2(o.Scope(), []tf.Output{op.ExpandDims(o.Scope(), op.FloorDiv(o.Scope(), m, k), constant(o.s, int32(0))), constant(o.s, ones)}, constant(o.s, int32(0)))
	return op.Tile(after.Scope(), p, mult)
}

// flatSize is the number of values per image of x [N,...].
func flatSize(x tf.Output) (int, error) {
	shape, err := x.Shape().ToSlice()
	if err != nil || len(shape) < 2 {
		return 0, fmt.Errorf("no static shape")
	}
	d := 1
	for _, s := range shape[1:] {
		if s <= 0 {
			return 0, fmt.Errorf("open size")
		}
		d *= int(s)
	}
	return d, nil
}

// resizeNearest resizes a h×w mask to oh×ow by nearest neighbour (pixel
// centres, as PIL's NEAREST), as 0/1.
func resizeNearest(m []float32, h, w, oh, ow int) ([]float32, error) {
	if h <= 0 || w <= 0 || len(m) != h*w {
		return nil, fmt.Errorf("explainer: region mask of %d values is not %d×%d", len(m), h, w)
	}
	out := make([]float32, oh*ow)
	for y := 0; y < oh; y++ {
		sy := min(int((float64(y)+0.5)*float64(h)/float64(oh)), h-1)
		for x := 0; x < ow; x++ {
			sx := min(int((float64(x)+0.5)*float64(w)/float64(ow)), w-1)
			if m[sy*w+sx] != 0 {
				out[y*ow+x] = 1
			}
		}
	}
	return out, nil
}

// reshape4 is m (h×w) as a [1,h,w,1] array for a constant.
func reshape4(m []float32, h, w int) [][][][]float32 {
	out := [][][][]float32{make([][][]float32, h)}
	for y := range h {
		out[0][y] = make([][]float32, w)
		for x := range w {
			out[0][y][x] = []float32{m[y*w+x]}
		}
	}
	return out
}

// EmbeddingOf runs model on batch and returns each image's embedding: the
// output, or layer's output when layer is not "", flattened — the
// reference vector Embedding takes ("why does this image look like that
// one": the embedding of that one).
func EmbeddingOf(ctx context.Context, model *tfgraph.Model, layer string, batch Batch) ([][]float32, error) {
	fw, err := model.Inline()
	if err != nil {
		return nil, err
	}
	x := fw.Output
	if layer != "" {
		l, err := fw.Layer(layer)
		if err != nil {
			return nil, err
		}
		x = l.Output
	}
	d, err := flatSize(x)
	if err != nil {
		return nil, fmt.Errorf("explainer: embedding %s has shape %v; need [N,...] of known size", x.Op.Name(), x.Shape())
	}
	if x.DataType() != tf.Float {
		x = op.Cast(op.NewScopeWithGraph(model.Graph).SubScope(fmt.Sprintf("tfcam_embedding_%d", explainerCount.Add(1))), x, tf.Float)
	}
	h, w, c := model.InputSize()
	if batch.N <= 0 || len(batch.Pixels) != batch.N*h*w*c {
		return nil, fmt.Errorf("explainer: batch of %d values is not %d images of %dx%dx%d", len(batch.Pixels), batch.N, h, w, c)
	}
	out, err := model.Run(ctx, map[tf.Output]tfgraph.Feed{
		fw.Input: {F32: model.RoundPixels(batch.Pixels), Shape: []int64{int64(batch.N), int64(h), int64(w), int64(c)}},
	}, []tf.Output{x})
	if err != nil {
		return nil, err
	}
	res := make([][]float32, batch.N)
	for i := range res {
		res[i] = out[0][i*d : (i+1)*d]
	}
	return res, nil
}
