package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[ScoreCAM]{
	Name: "scorecam", Family: FamilyMore, Order: 40,
	Summary: "w_k = class probability on the image masked by channel k",
	Notes:   "official code / tf-keras-vis variant (`variant=prob`); `variant=softmax:upsample=corners` = pytorch-grad-cam ScoreCAM (masks the model's input: where a torch model normalises outside and the SavedModel inside, mask the same tensor to match); the paper's baseline form w_k = p(x∘H_k) − p(x_b) as `baseline=zero` or `baseline=blur`; `upsample=corners` = tf-keras-vis Scorecam",
	Options: scoreCAMOptions(0, "0: all channels; > 0: faster-scorecam"),
	Check:   ScoreCAM.check,
	Cost:    ScoreCAM.cost,
})

var _ = Register(Spec[ScoreCAM]{
	Name: "faster-scorecam", Family: FamilyMore, Order: 50,
	Summary: "Score-CAM on the `topn` channels of largest spatial variance",
	Notes:   "with `upsample=corners` = tf-keras-vis Scorecam max_N=10 (one image per call)",
	Proto:   ScoreCAM{TopN: 10},
	Options: scoreCAMOptions(10, "channels scored (largest spatial variance)"),
	Check:   ScoreCAM.check,
	Cost:    ScoreCAM.cost,
})

// ScoreCAM (Wang et al. 2020): each channel of the target layer, upsampled
// to the input and min–max scaled to [0,1], masks the image; the model's
// output for the masked image weights the channel. Variants:
//
//   - "prob" (default): w_k = the model's probability of the class on the
//     masked image — the official code's and tf-keras-vis's choice;
//   - "softmax": w = softmax over channels of the explained score
//     (logit) of the masked images — pytorch-grad-cam's choice (with
//     Upsample "corners", tfcam's map is pytorch-grad-cam's ScoreCAM).
//
// Baseline is the paper's optional baseline image x_b (Wang et al., Def. 2:
// C(A_k) = f(x ∘ H_k) − f(x_b)): "" or "none" (the default: no baseline, as
// the official code and tf-keras-vis), "zero" (the value 0 in the model's
// input space) or "blur" (the image under a Gaussian blur of σ =
// max(H,W)/32 px, as IntegratedGradients' blur baseline). It costs one more
// forward pass per image. A baseline shifts every channel's weight by the
// same amount, so it changes the "prob" variant (the map moves by
// −f(x_b)·Σ_k A_k) and cancels in the "softmax" one, which therefore
// refuses it.
//
// Upsample is how channel maps become masks: "" or "half-pixel" (the
// default: bilinear with half-pixel centres, as tfcam's other upsampling and
// TensorFlow's resize) or "corners" (bilinear with aligned corners, which is
// what tf-keras-vis's scipy zoom(order=1) and pytorch-grad-cam's
// nn.UpsamplingBilinear2d do; with it tfcam reproduces tf-keras-vis's
// Scorecam, and with Variant "softmax" pytorch-grad-cam's ScoreCAM). The
// two differ by up to 0.2 on EfficientNet-Lite0's 7×7 → 224 masks.
//
// The mask multiplies the model's input tensor. A PyTorch model usually
// takes the normalised image (its preprocessing outside the model) while a
// SavedModel often rescales inside (EfficientNet's Rescaling layer): then
// pytorch-grad-cam masks the normalised values (0 is the mean colour) and
// tfcam the raw pixels (0 is black), and the maps differ by that choice,
// not by the formula.
//
// TopN > 0 is Faster-Score-CAM: only the N channels with the largest
// spatial variance (per image) are scored. Cost: K (or TopN) forward passes
// per image, one more with a baseline; the masked copies and their masks
// are built chunk by chunk under the tensor budget, so memory does not grow
// with K.
type ScoreCAM struct {
	// Variant is "prob" or "softmax" ("": the registered default, prob).
	Variant string
	// Baseline is "", "none", "zero" or "blur".
	Baseline string
	// Upsample is "", "half-pixel" or "corners".
	Upsample string
	// TopN > 0 scores only the TopN channels of largest spatial variance.
	TopN int
}

// Name implements Method.
func (m ScoreCAM) Name() string {
	if m.TopN > 0 {
		return "faster-scorecam"
	}
	return "scorecam"
}

// Needs implements Method.
func (ScoreCAM) Needs() Needs { return Needs{} }

// scoreCAMOptions are Score-CAM's options; faster-scorecam differs in
// topn's default.
func scoreCAMOptions(topn int, topnDoc string) []Option {
	return []Option{
		{Name: "variant", Default: "prob", Allowed: []string{"prob", "softmax"}, Doc: "channel weights: class probability, or a softmax over channels of the logits"},
		{Name: "baseline", Default: "none", Allowed: []string{"none", "zero", "blur"}, Doc: "subtract the score of a baseline image"},
		{Name: "upsample", Default: "half-pixel", Allowed: []string{"half-pixel", "corners"}, Doc: "how channel maps become masks; corners: as tf-keras-vis and pytorch-grad-cam"},
		{Name: "topn", Default: topn, Min: 1, Doc: topnDoc},
	}
}

// check refuses a baseline with the softmax variant: a softmax over
// channels cancels a baseline that shifts them all.
func (m ScoreCAM) check() error {
	if m.Variant == "softmax" && m.Baseline != "none" {
		return &OptionError{Method: m.Name(), Option: "baseline", Value: m.Baseline, Want: "none with variant softmax (a softmax over channels cancels a baseline; use variant prob)"}
	}
	return nil
}

// cost is one masked copy per scored channel, and one for the baseline.
func (m ScoreCAM) cost(g Geometry) Cost {
	k := g.K
	if m.TopN > 0 && m.TopN < k {
		k = m.TopN
	}
	c := Cost{Copies: k, ChunkBuilt: k} // the masked copies (CopyScores)
	if m.Baseline != "none" {
		c.Copies++ // the baseline, one whole copy
	}
	return c
}

// Weights implements WeightMethod.
func (m ScoreCAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	m = Resolve(m)
	c := t.Ctx
	a := t.A
	k := int(a.Shape().Size(3))
	var base tf.Output
	switch m.Baseline {
	case "zero":
		base = op.ZerosLike(o.Scope(), c.Input)
	case "blur":
		base = gaussianBlur(o, c.Input)
	}
	upsample := t.Upsample
	switch m.Upsample {
	case "corners":
		size := constant(o.s, []int32{int32(c.Input.Shape().Size(1)), int32(c.Input.Shape().Size(2))})
		upsample = func(x tf.Output) tf.Output {
			up := op.ResizeBilinear(o.Scope(), op.ExpandDims(o.Scope(), x, constant(o.s, int32(3))), size, op.ResizeBilinearAlignCorners(true))
			return op.Squeeze(o.Scope(), up, op.SqueezeAxis([]int64{3}))
		}
	}
	var chosen tf.Output // the TopN channels of each image, one-hot
	if m.TopN > 0 && m.TopN < k {
		// Per image, the TopN channels by spatial variance: [N,h,w,TopN].
		mean := o.SpatialMean(a)
		variance := op.Squeeze(o.Scope(), o.SpatialMean(o.Square(o.Sub(a, mean))), op.SqueezeAxis([]int64{1, 2}))
		_, idx := op.TopKV2(o.Scope(), variance, constant(o.s, int32(m.TopN)))
		a = op.Transpose(o.Scope(), op.GatherV2(o.Scope(), op.Transpose(o.Scope(), a, constant(o.s, []int32{0, 3, 1, 2})), idx, constant(o.s, int32(1)), op.GatherV2BatchDims(1)), constant(o.s, []int32{0, 2, 3, 1}))
		chosen = op.OneHot(o.Scope(), idx, constant(o.s, int32(k)), o.Const(1), o.Const(0)) // [N,TopN,K]
		k = m.TopN
	}
	// Copy j of image i is image i masked by its channel j, built chunk by
	// chunk with its mask (Context.CopyScores): K masked images per image
	// never exist at once.
	maskOf := channelMaskRows(o, a, upsample)
	images := func(o *Ops, j, i tf.Output) tf.Output {
		mask := maskOf(o, j, i)
		return o.Mul(op.GatherV2(o.Scope(), c.Input, i, constant(o.s, int32(0))), op.ExpandDims(o.Scope(), mask, constant(o.s, int32(3))))
	}
	var wt tf.Output
	switch m.Variant {
	case "prob":
		probs, err := c.CopyScores(o, k, images, true)
		if err != nil {
			return tf.Output{}, err
		}
		wt = c.Split(o, probs, k) // [K,N]
		if base.Op != nil {
			ref, err := c.Probabilities(base)
			if err != nil {
				return tf.Output{}, err
			}
			wt = o.Sub(wt, op.ExpandDims(o.Scope(), c.Select(o, ref, c.Targets), constant(o.s, int32(0))))
		}
	case "softmax":
		scores, err := c.CopyScores(o, k, images, false)
		if err != nil {
			return tf.Output{}, err
		}
		logits := op.Transpose(o.Scope(), c.Split(o, scores, k), constant(o.s, []int32{1, 0}))
		wt = op.Transpose(o.Scope(), op.Softmax(o.Scope(), logits), constant(o.s, []int32{1, 0}))
	}
	wt = op.Transpose(o.Scope(), wt, constant(o.s, []int32{1, 0})) // [N,K]
	if chosen.Op != nil {
		// The TopN weights back at their channels, 0 at the others.
		wt = op.Sum(o.Scope(), o.Mul(chosen, op.ExpandDims(o.Scope(), wt, constant(o.s, int32(2)))), constant(o.s, int32(1)))
	}
	return op.ExpandDims(o.Scope(), op.ExpandDims(o.Scope(), wt, constant(o.s, int32(1))), constant(o.s, int32(1))), nil
}
