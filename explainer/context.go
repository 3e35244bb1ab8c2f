package explainer

import (
	"context"
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/tfgraph"
)

// Context gives the methods that need more than A and g — perturbation
// methods (Score-CAM, Ablation-CAM), noise and path averaging (SmoothGrad,
// Integrated Gradients) and head weights (CAM) — access to the model, still
// as graph ops: the model's forward pass can be copied onto a batch of
// modified images, or onto modified activations of the target layer, inside
// the same graph, so these methods also run in the batch's one Session.Run.
//
// Expanded batches are copy-major: copy j of image i sits at row j·N+i.
type Context struct {
	e *Explainer
	// Input is the image batch [N,H,W,C].
	Input tf.Output
	// Targets are the explained classes, int32 [N].
	Targets tf.Output
	// Selected is each image's explained score [N].
	Selected tf.Output
	// Seed makes randomised methods reproducible.
	Seed int64
	// chunks > 1 splits the forward copies of Scores, Probabilities,
	// TailScores, InputGradient and LayerGradient into that many parts
	// that run one after another (see chunked).
	chunks int
	// building, when set, stops the building between two chunks once it
	// is cancelled (NewContext).
	building context.Context
	// probes collects the tensors methods name with probe (rank 0 only).
	probes map[string]tf.Output
	// copies, when not nil, records every batch of copies the method
	// runs through the model (New checks them against its Cost).
	copies *[]copyRecord
	// layerOut and scores, when set, are the target layer's output and
	// the objective's scores of the images the Context explains, copies
	// of the batch (onCopies); unset, the batch's own.
	layerOut, scores tf.Output
}

// layerOutput is the target layer's output (the model's tensor, tokens
// for a token layer) on the images the Context explains.
func (c *Context) layerOutput() tf.Output {
	if c.layerOut.Op != nil {
		return c.layerOut
	}
	return c.e.layer.Output
}

// onCopies runs the model once on images [M,H,W,C], copy-major copies of
// the batch (aug_smooth's augmentations), explaining targets [M], and
// returns what a method builds from on them: the layer's activations and,
// when needs asks, their gradients, with a Context whose Input, Targets,
// Selected, ClassScores, ScoreGradient, LayerHessianProduct and TailScores
// are the copies'. The copies run whole, not chunked (Smoothed's
// wholeCopies tells the budget); copies the method makes of them are
// chunked as usual.
func (c *Context) onCopies(o *Ops, images, targets tf.Output, needs Needs) (Tensors, error) {
	c.count(images, false)
	cp, err := c.copyOn(c.e.fw.Input, images)
	if err != nil {
		return Tensors{}, err
	}
	a, err := cp.Twin(c.e.layer.Output)
	if err != nil {
		return Tensors{}, err
	}
	var param []tf.Output
	if c.e.obj.Param.Op != nil {
		param = append(param, tileRows(&Ops{s: c.e.root.SubScope("objective_param")}, c.e.obj.Param, images))
	}
	scores, err := c.objective(cp, param)
	if err != nil {
		return Tensors{}, err
	}
	ctx := *c
	ctx.Input, ctx.Targets, ctx.layerOut, ctx.scores = images, targets, a, scores
	ctx.Selected = c.e.float32Of(c.Select(o, scores, targets))
	t := Tensors{A: c.e.toGrid(c.e.float32Of(a)), Ctx: &ctx}
	if needs.LayerGrad {
		g, err := c.e.gradient(o, ctx.Selected, a)
		if err != nil {
			return Tensors{}, err
		}
		t.G = c.e.toGrid(c.e.float32Of(g))
	}
	if err := o.s.Err(); err != nil {
		return Tensors{}, fmt.Errorf("explainer: running the model on copies: %w", err)
	}
	return t, nil
}

// copyRecord is one batch of copies a method ran through the model.
type copyRecord struct {
	// rows is the batch's row count as an int32 [1]: copies times images.
	rows tf.Output
	// tail reports that the copies run only the layers after the target.
	tail bool
	// perChunk reports copies built chunk by chunk (CopyScores,
	// MaskedSums), never whole.
	perChunk bool
}

// count records that x's rows run through a forward copy of the model.
func (c *Context) count(x tf.Output, tail bool) { c.record(x, tail, false) }

// countChunkBuilt records that x's rows are copies built and run chunk by
// chunk (Cost.ChunkBuilt).
func (c *Context) countChunkBuilt(x tf.Output) { c.record(x, false, true) }

// record keeps x's row count for New's check of the declared costs.
func (c *Context) record(x tf.Output, tail, perChunk bool) {
	if c.copies == nil {
		return
	}
	o := &Ops{s: c.e.root.SubScope("copy_count")}
	shape := op.Shape(o.Scope(), x, op.ShapeOutType(tf.Int32))
	rows := op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{0}), constant(o.s, []int32{1}), constant(o.s, []int32{1}))
	*c.copies = append(*c.copies, copyRecord{rows: rows, tail: tail, perChunk: perChunk})
}

// probe names an intermediate tensor of a method, one of its discrete
// choices (a k-means assignment, a percentile mask, a group count), so that
// the parity tests can fetch it in the run that computes the maps and hand
// it to the Python reference. Explain never fetches it, so it costs
// nothing at run time.
func (c *Context) probe(name string, x tf.Output) {
	if c.probes != nil {
		c.probes[name] = x
	}
}

// Repeat stacks n copies of x [N,...] into [n·N,...].
func (c *Context) Repeat(o *Ops, x tf.Output, n int) tf.Output {
	rank := x.Shape().NumDimensions()
	mult := make([]int32, rank+1)
	mult[0] = int32(n)
	for i := 1; i <= rank; i++ {
		mult[i] = 1
	}
	tiled := op.Tile(o.Scope(), op.ExpandDims(o.Scope(), x, constant(o.s, int32(0))), constant(o.s, mult))
	return op.Reshape(o.Scope(), tiled, o.shapeWithLead(x, -1))
}

// MeanOfCopies averages [n·N,...] over its n copies: [N,...].
func (c *Context) MeanOfCopies(o *Ops, x tf.Output, n int) tf.Output {
	return op.Mean(o.Scope(), c.Split(o, x, n), constant(o.s, int32(0)))
}

// Split reshapes [n·N,...] to [n,N,...].
func (c *Context) Split(o *Ops, x tf.Output, n int) tf.Output {
	shape := op.Shape(o.Scope(), x, op.ShapeOutType(tf.Int32))
	rest := op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{1}), constant(o.s, []int32{0}), constant(o.s, []int32{1}), op.StridedSliceEndMask(1))
	return op.Reshape(o.Scope(), x, op.ConcatV2(o.Scope(), []tf.Output{constant(o.s, []int32{int32(n), -1}), rest}, constant(o.s, int32(0))))
}

// Normal draws standard-normal noise for n copies of each image of x
// [N,...]: [n·N,...], copy-major. Copy j gets the same draw for every image,
// so an image's noise depends on the seed, the stream number and j only —
// not on the batch it is in or its place there.
func (c *Context) Normal(o *Ops, x tf.Output, n int, stream int64) tf.Output {
	return c.perCopy(o, x, n, func(shape tf.Output) tf.Output {
		return op.StatelessRandomNormal(o.Scope(), shape, constant(o.s, []int64{c.Seed, stream}))
	})
}

// Uniform draws uniform [0,1) noise as Normal does.
func (c *Context) Uniform(o *Ops, x tf.Output, n int, stream int64) tf.Output {
	return c.perCopy(o, x, n, func(shape tf.Output) tf.Output {
		return op.StatelessRandomUniform(o.Scope(), shape, constant(o.s, []int64{c.Seed, stream}))
	})
}

// perCopy draws [n,1,...] with draw, broadcasts it over x's images and
// returns it copy-major as [n·N,...].
func (c *Context) perCopy(o *Ops, x tf.Output, n int, draw func(shape tf.Output) tf.Output) tf.Output {
	shape := op.Shape(o.Scope(), x, op.ShapeOutType(tf.Int32))
	rest := op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{1}), constant(o.s, []int32{0}), constant(o.s, []int32{1}), op.StridedSliceEndMask(1))
	one := op.ConcatV2(o.Scope(), []tf.Output{constant(o.s, []int32{int32(n), 1}), rest}, constant(o.s, int32(0))) // [n,1,...]
	noise := op.Add(o.Scope(), draw(one), op.ExpandDims(o.Scope(), op.ZerosLike(o.Scope(), x), constant(o.s, int32(0))))
	return op.Reshape(o.Scope(), noise, o.shapeWithLead(x, -1))
}

// copyOn runs the forward pass on images instead of the input.
func (c *Context) copyOn(from, to tf.Output) (*tfgraph.Copy, error) {
	return c.e.fw.Copy(map[tf.Output]tf.Output{from: to})
}

// chunked splits the rows of every x in xs (all [M,...], the same M) into
// c.chunks consecutive parts of nearly equal size, calls build on each
// part, and concatenates the parts' results along rows. Part j+1 starts
// only when part j's results exist (control dependencies), so TensorFlow
// holds the activations of one part at a time: this bounds the memory of
// a method that runs the model on many copies of each image, at no cost in
// Session.Runs. Each part first checks the model's stop flag
// (tfgraph.Model.StopCheck), so that a job stopping on SIGTERM ends the
// run between two parts. With one chunk it is build(xs).
func (c *Context) chunked(xs []tf.Output, build func(parts []tf.Output) ([]tf.Output, error)) ([]tf.Output, error) {
	if c.chunks <= 1 {
		return build(xs)
	}
	o := &Ops{s: c.e.root.SubScope("chunked")}
	shape := op.Shape(o.Scope(), xs[0], op.ShapeOutType(tf.Int32))
	// rows is M as [1]; bound(j) is ⌊j·M/chunks⌋ as [1].
	rows := op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{0}), constant(o.s, []int32{1}), constant(o.s, []int32{1}))
	bound := func(j int) tf.Output {
		return op.FloorDiv(o.Scope(), op.Mul(o.Scope(), rows, constant(o.s, []int32{int32(j)})), constant(o.s, []int32{int32(c.chunks)}))
	}
	var results [][]tf.Output
	var prev []*tf.Operation
	for j := 0; j < c.chunks; j++ {
		if c.building != nil && c.building.Err() != nil {
			return nil, fmt.Errorf("explainer: building chunk %d of %d: %w", j+1, c.chunks, context.Cause(c.building))
		}
		begin, end := bound(j), bound(j+1)
		size := op.Sub(o.Scope(), end, begin)
		// Each part starts with the model's stop check, after the part
		// before: a stopping job's run ends here (tfgraph.AbortOnCancel).
		check, err := c.e.model.StopCheck(o.s.SubScope("stop").WithControlDependencies(prev...))
		if err != nil {
			return nil, err
		}
		deps := prev
		if check != nil { // nil: a graph written out (tfgraph.Model.OmitStopChecks)
			deps = append(deps, check)
		}
		after := &Ops{s: o.s.SubScope("part").WithControlDependencies(deps...)}
		parts := make([]tf.Output, len(xs))
		for i, x := range xs {
			rank := x.Shape().NumDimensions()
			zeros, all := make([]int32, rank-1), make([]int32, rank-1)
			for d := range all {
				all[d] = -1
			}
			b := op.ConcatV2(o.Scope(), []tf.Output{begin, constant(o.s, zeros)}, constant(o.s, int32(0)))
			n := op.ConcatV2(o.Scope(), []tf.Output{size, constant(o.s, all)}, constant(o.s, int32(0)))
			parts[i] = op.Identity(after.Scope(), op.Slice(o.Scope(), x, b, n))
		}
		if err := o.s.Err(); err != nil {
			return nil, fmt.Errorf("explainer: splitting into chunks: %w", err)
		}
		res, err := build(parts)
		if err != nil {
			return nil, err
		}
		prev = prev[:0]
		for _, r := range res {
			prev = append(prev, r.Op)
		}
		results = append(results, res)
	}
	out := make([]tf.Output, len(results[0]))
	for i := range out {
		var col []tf.Output
		for _, res := range results {
			col = append(col, res[i])
		}
		out[i] = op.ConcatV2(o.Scope(), col, constant(o.s, int32(0)))
	}
	if err := o.s.Err(); err != nil {
		return nil, fmt.Errorf("explainer: joining chunks: %w", err)
	}
	return out, nil
}

// twinOn copies the forward pass with from replaced by each chunk of to
// and returns the copies' twin of t.
func (c *Context) twinOn(from, to, t tf.Output) (tf.Output, error) {
	c.count(to, from != c.e.fw.Input)
	out, err := c.chunked([]tf.Output{to}, func(parts []tf.Output) ([]tf.Output, error) {
		cp, err := c.copyOn(from, parts[0])
		if err != nil {
			return nil, err
		}
		tw, err := cp.Twin(t)
		return []tf.Output{tw}, err
	})
	if err != nil {
		return tf.Output{}, err
	}
	return out[0], nil
}

// Scores are the explained scores (logits or probabilities, as configured,
// through the objective) of a batch of images [M,H,W,C], copy-major copies
// of the batch: [M, classes].
func (c *Context) Scores(images tf.Output) (tf.Output, error) {
	return c.objectiveOn(c.e.fw.Input, images)
}

// objectiveOn copies the forward pass with from replaced by to (chunk by
// chunk) and returns the copies' objective scores S [M, classes].
func (c *Context) objectiveOn(from, to tf.Output) (tf.Output, error) {
	c.count(to, from != c.e.fw.Input)
	xs := c.withParam([]tf.Output{to}, to)
	out, err := c.chunked(xs, func(parts []tf.Output) ([]tf.Output, error) {
		cp, err := c.copyOn(from, parts[0])
		if err != nil {
			return nil, err
		}
		s, err := c.objective(cp, parts[1:])
		return []tf.Output{s}, err
	})
	if err != nil {
		return tf.Output{}, err
	}
	return out[0], nil
}

// withParam appends the objective's per-image parameter, tiled over the
// copy-major rows of rows, to xs (before chunked splits them), when the
// objective has one.
func (c *Context) withParam(xs []tf.Output, rows tf.Output) []tf.Output {
	if c.e.obj.Param.Op == nil {
		return xs
	}
	return append(xs, tileRows(&Ops{s: c.e.root.SubScope("objective_param")}, c.e.obj.Param, rows))
}

// objective is the objective's scores S [M, classes] on copy cp; param
// holds the row-aligned parameter when the objective has one (withParam).
func (c *Context) objective(cp *tfgraph.Copy, param []tf.Output) (tf.Output, error) {
	base, err := cp.Twin(c.e.obj.Base)
	if err != nil {
		return tf.Output{}, err
	}
	var p tf.Output
	if len(param) > 0 {
		p = param[0]
	}
	return c.e.obj.Scores(&Ops{s: c.e.root.SubScope("objective_copy")}, base, p), nil
}

// Probabilities are the model's outputs for a batch of images: [M,
// classes]. Under a non-class objective (Config.Objective) there are no
// probabilities: they are the objective's scores, as Scores.
func (c *Context) Probabilities(images tf.Output) (tf.Output, error) {
	if !c.e.cfg.Objective.IsClass() {
		return c.Scores(images)
	}
	return c.float32Of(c.twinOn(c.e.fw.Input, images, c.e.fw.Output))
}

// TailScores runs only the layers after the target layer on activations
// acts [M,h,w,K] (copies of the batch, copy-major; a token layer's patch
// grid, its prefix tokens restored from each image's own) and returns the
// explained scores [M, classes]. It does not apply (NotApplicableError for
// m) when the model's output also reads tensors that bypass the layer.
func (c *Context) TailScores(m Method, acts tf.Output) (tf.Output, error) {
	if c.e.fw.Bypassed(c.e.layer) {
		return tf.Output{}, c.notApplicable(m, "the class score also depends on tensors that bypass the layer (a residual connection around it), so the layers after it cannot be re-run from its activations alone",
			"choose a layer whose output is the only path to the class score (a block's output), or use scorecam", nil)
	}
	// Back in the layer's dtype (half-precision models) before the prefix
	// tokens, which are in it, are put back.
	return c.objectiveOn(c.e.layer.Output, c.e.fromGrid(c.e.asLayerDType(acts), c.layerOutput()))
}

// float32Of casts a result of twinOn to float32 (half-precision models).
func (c *Context) float32Of(x tf.Output, err error) (tf.Output, error) {
	if err != nil {
		return x, err
	}
	return c.e.float32Of(x), nil
}

// MaskedSums runs the model on n masked copies of each image and returns,
// per image, Σ_j w_j·M_j and Σ_j M_j, both [N,H,W]. masks builds the masks
// [m,H,W] of copies j (int32 [m]); apply the perturbed images from images
// x [m,H,W,C] and their masks [m,H,W]; weight each copy's w from its
// explained score s [m] and its image's index i [m]. Copy j of image i is
// row j·N+i, as everywhere; the copies and their full-size masks are built
// and scored chunk by chunk (chunked), so they never exist whole, however
// many there are (Occlusion's thousands of patches, RISE's masks).
func (c *Context) MaskedSums(o *Ops, n int, masks func(o *Ops, j tf.Output) tf.Output,
	apply func(o *Ops, x, m tf.Output) tf.Output, weight func(o *Ops, s, i tf.Output) tf.Output) (weighted, coverage tf.Output, err error) {
	shape := op.Shape(o.Scope(), c.Input, op.ShapeOutType(tf.Int32))
	images := op.Squeeze(o.Scope(), op.Slice(o.Scope(), shape, constant(o.s, []int32{0}), constant(o.s, []int32{1})), op.SqueezeAxis([]int64{0}))
	// Rows as a column [n·N,1] (chunked slices along the first axis).
	rows := op.ExpandDims(o.Scope(), op.Range(o.Scope(), constant(o.s, int32(0)), o.mulInt(images, int32(n)), constant(o.s, int32(1))), constant(o.s, int32(1)))
	if err := o.s.Err(); err != nil {
		return weighted, coverage, fmt.Errorf("explainer: %w", err)
	}
	c.countChunkBuilt(rows)
	out, err := c.chunked([]tf.Output{rows}, func(parts []tf.Output) ([]tf.Output, error) {
		r := op.Squeeze(o.Scope(), parts[0], op.SqueezeAxis([]int64{1}))
		j, i := op.FloorDiv(o.Scope(), r, images), op.FloorMod(o.Scope(), r, images)
		m := masks(o, j)
		x := op.GatherV2(o.Scope(), c.Input, i, constant(o.s, int32(0)))
		cp, err := c.copyOn(c.e.fw.Input, apply(o, x, m))
		if err != nil {
			return nil, err
		}
		// The objective's scores (the class scores, or S of a target beyond
		// one class, its per-image parameter taken from each copy's image).
		var param []tf.Output
		if c.e.obj.Param.Op != nil {
			param = append(param, op.GatherV2(o.Scope(), c.e.obj.Param, i, constant(o.s, int32(0))))
		}
		scores, err := c.objective(cp, param)
		if err != nil {
			return nil, err
		}
		s := c.Select(o, scores, op.GatherV2(o.Scope(), c.Targets, i, constant(o.s, int32(0))))
		w := op.Reshape(o.Scope(), weight(o, s, i), constant(o.s, []int32{-1, 1, 1}))
		sum := func(x tf.Output) tf.Output { return op.UnsortedSegmentSum(o.Scope(), x, i, images) }
		return []tf.Output{sum(o.Mul(w, m)), sum(m)}, nil
	})
	if err != nil {
		return weighted, coverage, err
	}
	// One [N,H,W] per chunk, stacked: sum the chunks.
	total := func(x tf.Output) tf.Output {
		return op.Sum(o.Scope(), c.Split(o, x, c.chunkCount()), constant(o.s, int32(0)))
	}
	weighted, coverage = total(out[0]), total(out[1])
	if err := o.s.Err(); err != nil {
		return weighted, coverage, fmt.Errorf("explainer: %w", err)
	}
	return weighted, coverage, nil
}

// CopyScores runs the model on n copies of each image and returns each
// copy's score of its image's target, [n·N] copy-major (copy j of image i
// at j·N+i): the explained score, or with probs the class probability
// (the objective's score under a non-class objective, as Probabilities).
// images builds the copies of rows (copy j, image i), both int32 [m], as
// [m,H,W,C]. As MaskedSums, the copies are built and scored chunk by chunk
// (chunked), so that they never exist whole: Score-CAM's K masked images
// per image, SS-CAM's samples·K.
func (c *Context) CopyScores(o *Ops, n int, images func(o *Ops, j, i tf.Output) tf.Output, probs bool) (tf.Output, error) {
	shape := op.Shape(o.Scope(), c.Input, op.ShapeOutType(tf.Int32))
	count := op.Squeeze(o.Scope(), op.Slice(o.Scope(), shape, constant(o.s, []int32{0}), constant(o.s, []int32{1})), op.SqueezeAxis([]int64{0}))
	rows := op.ExpandDims(o.Scope(), op.Range(o.Scope(), constant(o.s, int32(0)), o.mulInt(count, int32(n)), constant(o.s, int32(1))), constant(o.s, int32(1)))
	if err := o.s.Err(); err != nil {
		return tf.Output{}, fmt.Errorf("explainer: %w", err)
	}
	c.countChunkBuilt(rows)
	out, err := c.chunked([]tf.Output{rows}, func(parts []tf.Output) ([]tf.Output, error) {
		r := op.Squeeze(o.Scope(), parts[0], op.SqueezeAxis([]int64{1}))
		j, i := op.FloorDiv(o.Scope(), r, count), op.FloorMod(o.Scope(), r, count)
		cp, err := c.copyOn(c.e.fw.Input, images(o, j, i))
		if err != nil {
			return nil, err
		}
		var scores tf.Output
		if probs && c.e.cfg.Objective.IsClass() {
			tw, err := cp.Twin(c.e.fw.Output)
			if err != nil {
				return nil, err
			}
			scores = c.e.float32Of(tw)
		} else {
			var param []tf.Output
			if c.e.obj.Param.Op != nil {
				param = append(param, op.GatherV2(o.Scope(), c.e.obj.Param, i, constant(o.s, int32(0))))
			}
			if scores, err = c.objective(cp, param); err != nil {
				return nil, err
			}
		}
		return []tf.Output{c.Select(o, scores, op.GatherV2(o.Scope(), c.Targets, i, constant(o.s, int32(0))))}, nil
	})
	if err != nil {
		return tf.Output{}, err
	}
	return out[0], nil
}

// chunkCount is the number of parts chunked splits into.
func (c *Context) chunkCount() int { return max(1, c.chunks) }

// Select picks scores[i, targets[i]]: [M].
func (c *Context) Select(o *Ops, scores, targets tf.Output) tf.Output {
	return o.g().Pick(scores, targets, c.e.nClasses)
}

// InputGradient is d score[targets] / d images through a forward copy on
// images [M,H,W,C].
func (c *Context) InputGradient(o *Ops, images, targets tf.Output) (tf.Output, error) {
	c.count(images, false)
	out, err := c.chunked(c.withParam([]tf.Output{images, targets}, images), func(parts []tf.Output) ([]tf.Output, error) {
		cp, err := c.copyOn(c.e.fw.Input, parts[0])
		if err != nil {
			return nil, err
		}
		scores, err := c.objective(cp, parts[2:])
		if err != nil {
			return nil, err
		}
		g, err := c.e.gradient(o, c.Select(o, scores, parts[1]), parts[0])
		return []tf.Output{g}, err
	})
	if err != nil {
		return tf.Output{}, err
	}
	return out[0], nil
}

// LayerGradient returns the target layer's activations on images and the
// gradient of score[targets] there.
func (c *Context) LayerGradient(o *Ops, images, targets tf.Output) (a, g tf.Output, err error) {
	c.count(images, false)
	out, err := c.chunked(c.withParam([]tf.Output{images, targets}, images), func(parts []tf.Output) ([]tf.Output, error) {
		cp, err := c.copyOn(c.e.fw.Input, parts[0])
		if err != nil {
			return nil, err
		}
		a, err := cp.Twin(c.e.layer.Output)
		if err != nil {
			return nil, err
		}
		scores, err := c.objective(cp, parts[2:])
		if err != nil {
			return nil, err
		}
		g, err := c.e.gradient(o, c.Select(o, scores, parts[1]), a)
		if err != nil {
			return nil, err
		}
		return []tf.Output{c.e.toGrid(c.e.float32Of(a)), c.e.toGrid(c.e.float32Of(g))}, nil
	})
	if err != nil {
		return a, g, err
	}
	return out[0], out[1], nil
}

// ClassScores are the batch's explained scores (logits or probabilities,
// as configured), float32 [N, classes].
func (c *Context) ClassScores() tf.Output {
	if c.scores.Op != nil {
		return c.e.float32Of(c.scores)
	}
	return c.e.float32Of(c.e.scores)
}

// ScoreGradient is the gradient at the target layer of y [N], a per-image
// score computed from ClassScores (a target other than one class's score):
// d y_i / d A_i on the layer's grid, float32 [N,h,w,K].
func (c *Context) ScoreGradient(o *Ops, y tf.Output) (tf.Output, error) {
	g, err := c.e.gradient(o, y, c.layerOutput())
	if err != nil {
		return tf.Output{}, err
	}
	return c.e.toGrid(c.e.float32Of(g)), nil
}

// LayerHessianProduct is H·A, the Hessian of the explained score with
// respect to the target layer's activations applied to those activations:
// Σ_m (∂g_l/∂A_m)·A_m with g = d score / d A, a second gradient through
// the first. On the layer's grid, float32 [N,h,w,K].
func (c *Context) LayerHessianProduct(o *Ops) (tf.Output, error) {
	sum := op.Sum(o.Scope(), c.Selected, constant(o.s, []int32{0}))
	if err := o.s.Err(); err != nil {
		return tf.Output{}, fmt.Errorf("explainer: %w", err)
	}
	a := c.layerOutput()
	hv, err := c.e.fw.HessianVector(sum, a, a)
	if err != nil {
		return tf.Output{}, err
	}
	return c.e.toGrid(c.e.float32Of(hv)), nil
}

// DenseHead returns the kernel [K, classes] of the Dense layer that reads
// the target layer through global average pooling (CAM's weights).
// Under a non-class objective there is no such kernel for S's columns:
// the error wraps tfgraph.ErrNoDenseHead.
func (c *Context) DenseHead() (tf.Output, error) {
	if !c.e.cfg.Objective.IsClass() {
		return tf.Output{}, fmt.Errorf("explainer: target %s explains no Dense head's class column: %w", c.e.cfg.Objective, tfgraph.ErrNoDenseHead)
	}
	return c.float32Of(c.e.fw.DenseHeadKernel(c.e.layer))
}

// gradient adds d Σ y / d x.
func (e *Explainer) gradient(o *Ops, y, x tf.Output) (tf.Output, error) {
	sum := op.Sum(o.Scope(), y, constant(o.s, []int32{0}))
	if err := o.s.Err(); err != nil {
		return tf.Output{}, fmt.Errorf("explainer: %w", err)
	}
	return e.fw.GradientOf(sum, x)
}

// mulInt is the int32 scalar x·k.
func (o *Ops) mulInt(x tf.Output, k int32) tf.Output { return op.Mul(o.Scope(), x, constant(o.s, k)) }
