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

// softmaxScoreWeights runs the model on the image times r·K masks per
// image — mask(o, g, k, i) builds, for rows of group g, channel k and image
// i (int32 [m] each), the masks [m,H,W]; group g of channel k of image i
// is copy g·K+k — averages the explained score over the r groups and
// returns its softmax over channels as CAM weights [N,1,1,K]: the
// weighting of torch-cam's Score-CAM family (its subtraction of the
// unmasked score cancels in the softmax). Copies and masks are built chunk
// by chunk (Context.CopyScores).
func softmaxScoreWeights(o *Ops, c *Context, r, k int, mask func(o *Ops, g, ch, i tf.Output) tf.Output) (tf.Output, error) {
	kk := constant(o.s, int32(k))
	scores, err := c.CopyScores(o, r*k, func(o *Ops, j, i tf.Output) tf.Output {
		m := mask(o, op.FloorDiv(o.Scope(), j, kk), op.FloorMod(o.Scope(), j, kk), i)
		return o.Mul(op.GatherV2(o.Scope(), c.Input, i, constant(o.s, int32(0))), op.ExpandDims(o.Scope(), m, constant(o.s, int32(3))))
	}, false)
	if err != nil {
		return tf.Output{}, err
	}
	sel := op.Reshape(o.Scope(), scores, constant(o.s, []int32{int32(r), int32(k), -1}))
	mean := op.Transpose(o.Scope(), op.Mean(o.Scope(), sel, constant(o.s, int32(0))), constant(o.s, []int32{1, 0})) // [N,K]
	w := op.Softmax(o.Scope(), mean)
	return op.ExpandDims(o.Scope(), op.ExpandDims(o.Scope(), w, constant(o.s, int32(1))), constant(o.s, int32(1))), nil
}

// channelMaskRows returns the builder of Score-CAM's masks
// (graphops.ChannelMasks) for rows (channel ch, image i), both int32 [m]:
// [m,H,W], built for those rows only. The activations are put channel
// first once, here, not in each chunk.
func channelMaskRows(o *Ops, a tf.Output, upsample func(tf.Output) tf.Output) func(o *Ops, ch, i tf.Output) tf.Output {
	perChannel := op.Transpose(o.Scope(), a, constant(o.s, []int32{0, 3, 1, 2})) // [N,K,h,w]
	return func(o *Ops, ch, i tf.Output) tf.Output {
		picked := op.GatherNd(o.Scope(), perChannel, op.Pack(o.Scope(), []tf.Output{i, ch}, op.PackAxis(1)))
		return o.g().ChannelMasks(op.ExpandDims(o.Scope(), picked, constant(o.s, int32(3))), upsample) // [m,H,W]
	}
}

// normalRows are rows j (int32 [m]) of StatelessRandomNormal([rows,
// width], seed) — reshaped [m, shape...] with width the product of shape —
// drawing only the rows from the smallest to the largest j asked, not the
// others. Philox draws each group of 4 values from its own counter, so row
// j0's values start at the seed's counter + ⌊j0·width/4⌋, (j0·width mod 4)
// values into that group (checked bit for bit against the whole draw in
// TestNormalRows). The 64-bit counter addition does not carry into the
// counter's high word: it would matter for one seed in 2^64/(j0·width/4).
func normalRows(o *Ops, seed tf.Output, shape []int32, j tf.Output) tf.Output {
	width := int64(1)
	for _, d := range shape {
		width *= int64(d)
	}
	key, counter := op.StatelessRandomGetKeyCounter(o.Scope(), seed)
	j64 := op.Cast(o.Scope(), j, tf.Int64)
	j0 := op.Min(o.Scope(), j64, constant(o.s, int32(0)))
	span := o.Add(o.Sub(op.Max(o.Scope(), j64, constant(o.s, int32(0))), j0), constant(o.s, int64(1)))
	first := op.Mul(o.Scope(), j0, constant(o.s, width))
	four := constant(o.s, int64(4))
	skip, rem := op.FloorDiv(o.Scope(), first, four), op.FloorMod(o.Scope(), first, four)
	moved := op.Bitcast(o.Scope(), o.Add(op.Bitcast(o.Scope(), counter, tf.Int64),
		op.Pack(o.Scope(), []tf.Output{skip, constant(o.s, int64(0))})), tf.Uint64)
	total := o.Add(op.Mul(o.Scope(), span, constant(o.s, width)), rem)
	draw := op.StatelessRandomNormalV2(o.Scope(), op.Reshape(o.Scope(), total, constant(o.s, []int32{1})), key, moved, constant(o.s, int32(1)))
	drawn := op.Slice(o.Scope(), draw, op.Reshape(o.Scope(), rem, constant(o.s, []int32{1})), constant(o.s, []int64{-1}))
	dims := append([]int32{-1}, shape...)
	return op.GatherV2(o.Scope(), op.Reshape(o.Scope(), drawn, constant(o.s, dims)), o.Sub(j64, j0), constant(o.s, int32(0)))
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
