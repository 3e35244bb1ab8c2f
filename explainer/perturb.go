package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// Perturbations shared by several methods: the blurred baseline, noisy
// copies of the batch, and the model run on masked copies whose scores
// weight the masks (Score-CAM's family, Group-CAM, Cluster-CAM,
// CosineCAM). Graph numerics that need no model (principal components,
// k-means, channel masks) are in internal/graphops.

// gaussianBlur blurs each channel of x [N,H,W,C] with a Gaussian of σ =
// max(H,W)/32 px, radius 3σ (separable, reflect padding).
func gaussianBlur(o *Ops, x tf.Output) tf.Output {
	sigma := float64(max(x.Shape().Size(1), x.Shape().Size(2))) / 32
	return o.GaussianBlur(x, sigma)
}

// NoisyCopies is n copies of x [N,...] plus Gaussian noise of standard
// deviation noise·(max − min) of each image, copy-major, drawn from the
// random stream numbered stream under Config.Seed (each method its own).
func (c *Context) NoisyCopies(o *Ops, x tf.Output, n int, noise float32, stream int64) tf.Output {
	axes := constant(o.s, []int32{1, 2, 3})
	span := o.Sub(op.Max(o.Scope(), x, axes, op.MaxKeepDims(true)), op.Min(o.Scope(), x, axes, op.MinKeepDims(true)))
	sigma := c.Repeat(o, o.Mul(span, o.Const(noise)), n)
	copies := c.Repeat(o, x, n)
	return o.Add(copies, o.Mul(c.Normal(o, x, n, stream), sigma))
}

// softmaxScoreWeights runs the model on the image times each of r·K·N
// masks [r·K·N,H,W] (group g of channel k of image i at (g·K+k)·N+i),
// averages the explained score over the r groups and returns its softmax
// over channels as CAM weights [N,1,1,K]: the weighting of torch-cam's
// Score-CAM family (its subtraction of the unmasked score cancels in the
// softmax).
func softmaxScoreWeights(o *Ops, c *Context, masks tf.Output, r, k int) (tf.Output, error) {
	masked := o.Mul(c.Repeat(o, c.Input, r*k), op.ExpandDims(o.Scope(), masks, constant(o.s, int32(3))))
	scores, err := c.Scores(masked)
	if err != nil {
		return tf.Output{}, err
	}
	sel := op.Reshape(o.Scope(), c.Select(o, scores, c.Repeat(o, c.Targets, r*k)), constant(o.s, []int32{int32(r), int32(k), -1}))
	mean := op.Transpose(o.Scope(), op.Mean(o.Scope(), sel, constant(o.s, int32(0))), constant(o.s, []int32{1, 0})) // [N,K]
	w := op.Softmax(o.Scope(), mean)
	return op.ExpandDims(o.Scope(), op.ExpandDims(o.Scope(), w, constant(o.s, int32(1))), constant(o.s, int32(1))), nil
}

// maskedGains runs the n masked copies x·M + base·(1−M) (masks [n·N,H,W],
// copy-major) and base itself through the model as one batch and returns
// f(masked)_c − f(base)_c as [n,N]: f the model's output, or the explained
// score when explained is true.
func maskedGains(o *Ops, c *Context, x, base, masks tf.Output, n int, explained bool) (tf.Output, error) {
	m4 := op.ExpandDims(o.Scope(), masks, constant(o.s, int32(3)))
	masked := o.Add(o.Mul(c.Repeat(o, x, n), m4), o.Mul(c.Repeat(o, base, n), o.Sub(o.Const(1), m4)))
	return gainsOver(o, c, masked, base, n, explained)
}

// gainsOver runs n copies of each image [n·N,...] and a baseline per image
// [N,...] as one batch and returns, per copy, the class's score on the copy
// minus its score on the baseline: [n,N]. The score is the probability, or
// the explained score when explained.
func gainsOver(o *Ops, c *Context, copies, base tf.Output, n int, explained bool) (tf.Output, error) {
	batch := op.ConcatV2(o.Scope(), []tf.Output{copies, base}, constant(o.s, int32(0)))
	run := c.Probabilities
	if explained {
		run = c.Scores
	}
	out, err := run(batch)
	if err != nil {
		return tf.Output{}, err
	}
	sel := c.Split(o, c.Select(o, out, c.Repeat(o, c.Targets, n+1)), n+1) // [n+1,N]
	gains := op.Slice(o.Scope(), sel, constant(o.s, []int32{0, 0}), constant(o.s, []int32{int32(n), -1}))
	ref := op.Slice(o.Scope(), sel, constant(o.s, []int32{int32(n), 0}), constant(o.s, []int32{1, -1}))
	return o.Sub(gains, ref), nil
}

// weightedMasks is Σ_j w_j M_j for weights [n,N] and masks [n·N,H,W]: [N,H,W].
func weightedMasks(o *Ops, c *Context, weights, masks tf.Output, n int) tf.Output {
	wt := op.Reshape(o.Scope(), weights, constant(o.s, []int32{int32(n), -1, 1, 1}))
	return op.Sum(o.Scope(), o.Mul(wt, c.Split(o, masks, n)), constant(o.s, int32(0)))
}
