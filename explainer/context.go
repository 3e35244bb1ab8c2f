package explainer

import (
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

// Normal draws standard-normal noise shaped like x, reproducibly from the
// seed and a per-use stream number.
func (c *Context) Normal(o *Ops, x tf.Output, stream int64) tf.Output {
	shape := op.Shape(o.Scope(), x, op.ShapeOutType(tf.Int32))
	return op.StatelessRandomNormal(o.Scope(), shape, constant(o.s, []int64{c.Seed, stream}))
}

// Uniform draws uniform [0,1) noise shaped like x.
func (c *Context) Uniform(o *Ops, x tf.Output, stream int64) tf.Output {
	shape := op.Shape(o.Scope(), x, op.ShapeOutType(tf.Int32))
	return op.StatelessRandomUniform(o.Scope(), shape, constant(o.s, []int64{c.Seed, stream}))
}

// copyOn runs the forward pass on images instead of the input.
func (c *Context) copyOn(from, to tf.Output) (*tfgraph.Copy, error) {
	return c.e.fw.Copy(map[tf.Output]tf.Output{from: to})
}

// Scores are the explained scores (logits or probabilities, as configured)
// of a batch of images [M,H,W,C]: [M, classes].
func (c *Context) Scores(images tf.Output) (tf.Output, error) {
	cp, err := c.copyOn(c.e.fw.Input, images)
	if err != nil {
		return tf.Output{}, err
	}
	return cp.Twin(c.e.scores)
}

// Probabilities are the model's outputs for a batch of images: [M, classes].
func (c *Context) Probabilities(images tf.Output) (tf.Output, error) {
	cp, err := c.copyOn(c.e.fw.Input, images)
	if err != nil {
		return tf.Output{}, err
	}
	return cp.Twin(c.e.fw.Output)
}

// TailScores runs only the layers after the target layer on activations
// acts [M,h,w,K] and returns the explained scores [M, classes].
func (c *Context) TailScores(acts tf.Output) (tf.Output, error) {
	cp, err := c.copyOn(c.e.layer.Output, acts)
	if err != nil {
		return tf.Output{}, err
	}
	return cp.Twin(c.e.scores)
}

// Select picks scores[i, targets[i]]: [M].
func (c *Context) Select(o *Ops, scores, targets tf.Output) tf.Output {
	onehot := op.OneHot(o.Scope(), targets, constant(o.s, int32(c.e.nClasses)), o.Const(1), o.Const(0))
	return op.Sum(o.Scope(), o.Mul(scores, onehot), constant(o.s, []int32{1}))
}

// InputGradient is d score[targets] / d images through a forward copy on
// images [M,H,W,C].
func (c *Context) InputGradient(o *Ops, images, targets tf.Output) (tf.Output, error) {
	scores, err := c.Scores(images)
	if err != nil {
		return tf.Output{}, err
	}
	return c.e.gradient(o, c.Select(o, scores, targets), images)
}

// LayerGradient returns the target layer's activations on images and the
// gradient of score[targets] there.
func (c *Context) LayerGradient(o *Ops, images, targets tf.Output) (a, g tf.Output, err error) {
	cp, err := c.copyOn(c.e.fw.Input, images)
	if err != nil {
		return a, g, err
	}
	if a, err = cp.Twin(c.e.layer.Output); err != nil {
		return a, g, err
	}
	scores, err := cp.Twin(c.e.scores)
	if err != nil {
		return a, g, err
	}
	g, err = c.e.gradient(o, c.Select(o, scores, targets), a)
	return a, g, err
}

// DenseHead returns the kernel [K, classes] of the Dense layer that reads
// the target layer through global average pooling (CAM's weights).
func (c *Context) DenseHead() (tf.Output, error) {
	return c.e.fw.DenseHeadKernel(c.e.layer)
}

// gradient adds d Σ y / d x.
func (e *Explainer) gradient(o *Ops, y, x tf.Output) (tf.Output, error) {
	sum := op.Sum(o.Scope(), y, constant(o.s, []int32{0}))
	if err := o.s.Err(); err != nil {
		return tf.Output{}, fmt.Errorf("explainer: %w", err)
	}
	return e.fw.GradientOf(sum, x)
}

// shapeWithLead is x's shape with its first dimension replaced by lead.
func (o *Ops) shapeWithLead(x tf.Output, lead int32) tf.Output {
	shape := op.Shape(o.Scope(), x, op.ShapeOutType(tf.Int32))
	rest := op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{1}), constant(o.s, []int32{0}), constant(o.s, []int32{1}), op.StridedSliceEndMask(1))
	return op.ConcatV2(o.Scope(), []tf.Output{constant(o.s, []int32{lead}), rest}, constant(o.s, int32(0)))
}
