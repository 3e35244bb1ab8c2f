package explainer

import (
	"context"
	"errors"
	"fmt"
	"math"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/tfgraph"
)

// Objective says what a column of the explained scores is: a transform of
// the model's output into a virtual score matrix S [N, C'] whose column c is
// "the thing to explain". Every method explains column Targets of S, so
// each works unchanged under every objective: the gradient methods through
// the score's gradient, the perturbation methods by re-scoring their copies
// through the same transform. The zero value is the model's class scores
// (Config.Score), as before objectives existed.
//
// Ranking (Top1, TopK, and Result.Predictions' order) follows the
// objective: see each constructor.
type Objective struct {
	kind objectiveKind
	// Region: the mask at its own size (nil: the model's prediction).
	mask         []float32
	maskH, maskW int
	// Regression: +1 explains the output by default, −1 its negative.
	sign int
	// Embedding: the reference vector and the layer (""; the output).
	ref   []float32
	layer string
	// Contrast: the contrast class d.
	contrast int
}

type objectiveKind int

const (
	classObjective objectiveKind = iota
	regionObjective
	regressionObjective
	embeddingObjective
	contrastObjective
)

// ClassScores is the zero Objective: column c of S is class c's logit or
// probability (Config.Score).
func ClassScores() Objective { return Objective{} }

// Region explains a segmentation output [N,H',W',C]: S[n,c] = Σ_{y,x}
// out[n,y,x,c]·M[n,y,x,c], where M is 1 on the pixels the model's own
// argmax over classes assigns to c (pytorch-grad-cam's
// SemanticSegmentationTarget with the predicted mask). The mask comes from
// the image's own forward pass and is held fixed: the copies a perturbation
// method scores (Score-CAM's masked images) are scored with the original
// image's mask, as pytorch-grad-cam does (it computes the mask once, from
// the original prediction). The top-1 class is the one covering the most
// pixels (ties: the lowest index); Prediction.Score is S.
func Region() Objective { return Objective{kind: regionObjective} }

// RegionMask explains a segmentation output with a fixed mask, the same
// for every image and class: S[n,c] = Σ_{y,x} out[n,y,x,c]·M[y,x]. mask
// is h×w row-major, nonzero where it counts; New resizes it
// (nearest-neighbour) to the output's H'×W'. The top-1 class is the one
// the model predicts on the most pixels inside the mask.
func RegionMask(mask []float32, h, w int) Objective {
	return Objective{kind: regionObjective, mask: mask, maskH: h, maskW: w}
}

// Regression explains a single output [N] or [N,1]: S = [y, −y], column 0
// the output, column 1 its negative. sign +1 makes column 0 the default
// (Top1) target, −1 column 1; Classes picks either explicitly.
func Regression(sign int) Objective { return Objective{kind: regressionObjective, sign: sign} }

// Embedding explains similarity to a reference: S[n,0] = cos(e_n, ref),
// where e_n is the model's output [N,D] or, when layer is not "", that
// layer's output flattened (pytorch-grad-cam's
// SimilarityToConceptTarget; cosine with ‖·‖‖·‖ floored at 1e-8 as in
// torch.nn.CosineSimilarity). ref's length must be e_n's; EmbeddingOf
// computes one from an image. S has one column.
func Embedding(ref []float32, layer string) Objective {
	return Objective{kind: embeddingObjective, ref: ref, layer: layer}
}

// Contrast explains class c against a fixed class d: S[:,c] = y_c − y_d on
// the class scores (Config.Score; logits by default): "why a husky and not
// a wolf". Ranking is by y (the same order as y − y_d).
func Contrast(d int) Objective { return Objective{kind: contrastObjective, contrast: d} }

// String names the objective as the CLI's --target spells it.
func (o Objective) String() string {
	switch o.kind {
	case regionObjective:
		if o.mask != nil {
			return fmt.Sprintf("region:mask=%dx%d", o.maskH, o.maskW)
		}
		return "region"
	case regressionObjective:
		if o.sign < 0 {
			return "regression:sign=-1"
		}
		return "regression"
	case embeddingObjective:
		if o.layer != "" {
			return fmt.Sprintf("embedding:layer=%s", o.layer)
		}
		return "embedding"
	case contrastObjective:
		return fmt.Sprintf("contrast:class=%d", o.contrast)
	}
	return "class"
}

// IsClass reports the zero objective (the model's class scores).
func (o Objective) IsClass() bool { return o.kind == classObjective }

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

// objectiveGraph is an objective built on one model: the inlined tensor
// it reads (twinned in forward copies), its transform into S, and the
// original image's per-image parameters.
type objectiveGraph struct {
	base tf.Output // inlined tensor S is computed from (float32 after float32Of)
	cols int
	// param is the original batch's per-image parameter [N,...] (the
	// predicted region mask), or nil; for copies it is tiled over their
	// copy-major rows (tileRows) before they are split into chunks, so
	// that every row keeps its own image's parameter.
	param tf.Output
	// scores maps base (or a copy's twin of it, [M,...] with M = j·N
	// copy-major rows) and param row-aligned with it to S [M, cols].
	scores func(o *Ops, base, param tf.Output) tf.Output
	// reach: S must also read the model's output (times zero) when it is
	// computed from logits under the output's softmax. TensorFlow's C++
	// gradient builder otherwise refuses the 4-D segmentation softmax left
	// hanging off the logits ("Cannot compute the partial derivative for
	// node .../Softmax as it's unreachable from the output node(s)"),
	// which it does not for a [N,C] head.
	reach bool
	// rank orders the columns of the original batch [N, cols] (top-k).
	rank func(o *Ops, s tf.Output) tf.Output
}

// build resolves the objective on e's model (the score kind, the output's
// shape) and returns its graph pieces, or an *ObjectiveError.
func (ob Objective) build(e *Explainer) (*objectiveGraph, error) {
	fw := e.fw
	bad := func(t tf.Output, want string) error {
		shape, _ := t.Shape().ToSlice()
		return &ObjectiveError{Objective: ob.String(), Tensor: t.Op.Name(), Shape: shape, Want: want}
	}
	classScores := func() tf.Output {
		if e.cfg.Score == tfgraph.Logits {
			out, _ := fw.Logits()
			return out
		}
		return fw.Output
	}
	identityRank := func(_ *Ops, s tf.Output) tf.Output { return s }
	switch ob.kind {
	case classObjective:
		scores, n, err := fw.Scores(e.cfg.Score)
		if err != nil {
			return nil, err
		}
		return &objectiveGraph{base: scores, cols: n, scores: func(_ *Ops, b, _ tf.Output) tf.Output { return e.float32Of(b) }, rank: identityRank}, nil
	case regionObjective:
		base := classScores()
		shape, err := base.Shape().ToSlice()
		if err != nil || len(shape) != 4 || shape[1] <= 0 || shape[2] <= 0 || shape[3] <= 0 {
			return nil, bad(base, "a segmentation output [N,H',W',classes] with known H', W' and classes")
		}
		h, w, c := int(shape[1]), int(shape[2]), int(shape[3])
		s := e.root.SubScope("objective")
		o := &Ops{s: s}
		// The predicted mask from the original pass, without a gradient
		// (detached).
		orig := e.float32Of(base)
		pred := op.OneHot(o.Scope(), op.ArgMax(o.Scope(), orig, constant(s, int32(3)), op.ArgMaxOutputType(tf.Int32)), constant(s, int32(c)), o.Const(1), o.Const(0))
		pred = detached(o, pred) // [N,H',W',C]
		var fixed tf.Output      // [1,H',W',1] or nil
		if ob.mask != nil {
			m, err := resizeNearest(ob.mask, ob.maskH, ob.maskW, h, w)
			if err != nil {
				return nil, err
			}
			fixed = op.Const(s.SubScope("mask"), reshape4(m, h, w))
		}
		g := &objectiveGraph{base: base, cols: c,
			scores: func(o *Ops, b, p tf.Output) tf.Output {
				mask := fixed
				if mask.Op == nil {
					mask = p
				}
				return op.Sum(o.Scope(), o.Mul(e.float32Of(b), mask), constant(o.s, []int32{1, 2}))
			},
			reach: true,
			rank: func(o *Ops, _ tf.Output) tf.Output {
				m := pred
				if fixed.Op != nil {
					m = o.Mul(pred, fixed)
				}
				return op.Sum(o.Scope(), m, constant(o.s, []int32{1, 2}))
			}}
		if fixed.Op == nil {
			g.param = pred
		}
		return g, nil
	case regressionObjective:
		base := fw.Output
		shape, err := base.Shape().ToSlice()
		if err != nil || !(len(shape) == 1 || (len(shape) == 2 && shape[1] == 1)) {
			return nil, bad(base, "a single output per image, [N] or [N,1] (choose the output with tfgraph.LoadOptions.Output)")
		}
		if ob.sign != 1 && ob.sign != -1 {
			return nil, &ObjectiveError{Objective: ob.String(), Tensor: base.Op.Name(), Shape: shape, Want: fmt.Sprintf("sign +1 or -1, not %d", ob.sign)}
		}
		first := []float32{1, 0}
		if ob.sign < 0 {
			first = []float32{0, 1}
		}
		return &objectiveGraph{base: base, cols: 2,
			scores: func(o *Ops, b, _ tf.Output) tf.Output {
				y := op.Reshape(o.Scope(), e.float32Of(b), constant(o.s, []int32{-1, 1}))
				return op.ConcatV2(o.Scope(), []tf.Output{y, op.Neg(o.Scope(), y)}, constant(o.s, int32(1)))
			},
			rank: func(o *Ops, s tf.Output) tf.Output {
				return o.Add(op.ZerosLike(o.Scope(), s), constant(o.s, first))
			}}, nil
	case embeddingObjective:
		base := fw.Output
		if ob.layer != "" {
			l, err := fw.Layer(ob.layer)
			if err != nil {
				return nil, err
			}
			base = l.Output
		}
		d, err := flatSize(base)
		if err != nil {
			return nil, bad(base, "a per-image output or layer [N,...] of known size")
		}
		if len(ob.ref) != d {
			shape, _ := base.Shape().ToSlice()
			return nil, &ObjectiveError{Objective: ob.String(), Tensor: base.Op.Name(), Shape: shape,
				Want: fmt.Sprintf("a reference vector of its %d values per image, not %d", d, len(ob.ref))}
		}
		ref := constant(e.root.SubScope("objective_ref"), ob.ref)
		refNorm := float32(0)
		for _, v := range ob.ref {
			refNorm += v * v
		}
		refNorm = float32(math.Sqrt(float64(refNorm)))
		return &objectiveGraph{base: base, cols: 1,
			scores: func(o *Ops, b, _ tf.Output) tf.Output {
				x := op.Reshape(o.Scope(), e.float32Of(b), constant(o.s, []int32{-1, int32(d)}))
				one := constant(o.s, []int32{1})
				dot := op.Sum(o.Scope(), o.Mul(x, ref), one, op.SumKeepDims(true))
				norm := op.Sqrt(o.Scope(), op.Sum(o.Scope(), o.Square(x), one, op.SumKeepDims(true)))
				den := op.Maximum(o.Scope(), o.Mul(norm, o.Const(refNorm)), o.Const(1e-8))
				return op.RealDiv(o.Scope(), dot, den)
			},
			rank: identityRank}, nil
	case contrastObjective:
		base := classScores()
		shape, err := base.Shape().ToSlice()
		if err != nil || len(shape) != 2 || shape[1] <= 0 {
			return nil, bad(base, "class scores [N, classes]")
		}
		if ob.contrast < 0 || ob.contrast >= int(shape[1]) {
			return nil, &ObjectiveError{Objective: ob.String(), Tensor: base.Op.Name(), Shape: shape,
				Want: fmt.Sprintf("a contrast class in [0, %d)", shape[1])}
		}
		d := int32(ob.contrast)
		return &objectiveGraph{base: base, cols: int(shape[1]),
			scores: func(o *Ops, b, _ tf.Output) tf.Output {
				y := e.float32Of(b)
				yd := op.StridedSlice(o.Scope(), y, constant(o.s, []int32{0, d}), constant(o.s, []int32{0, d + 1}), constant(o.s, []int32{1, 1}),
					op.StridedSliceBeginMask(1), op.StridedSliceEndMask(1)) // [M,1]
				return o.Sub(y, yd)
			},
			rank: identityRank}, nil
	}
	return nil, fmt.Errorf("explainer: unknown objective %d", ob.kind)
}

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
