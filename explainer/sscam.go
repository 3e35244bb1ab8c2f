package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
)

var _ = Register(Spec[SSCAM]{
	Name: "sscam", Family: FamilyMore, Order: 54,
	Summary: "SS-CAM: w = softmax over channels of the mean class logit on the image times Score-CAM's mask plus Gaussian noise",
	Notes:   "torch-cam's SSCAM (its defaults: 35 samples, σ = 2); masks upsampled then min–max scaled as tfcam's Score-CAM (torch-cam scales, then upsamples); seeded; samples·K forward passes. Checked against the formula as torch-cam's source defines it (no PyTorch here)",
	Options: []Option{
		{Name: "samples", Default: 35, Min: 1, Doc: "noisy masks per channel"},
		{Name: "noise", Default: 2.0, Doc: "σ of the noise on masks in [0,1]; negative: none"},
	},
	Cost: func(m SSCAM, g Geometry) Cost { return Cost{Copies: m.Samples * g.K, ChunkBuilt: m.Samples * g.K} },
})

// SSCAM is SS-CAM (Wang et al. 2020, "Smoothed Score-CAM") as torch-cam's
// SSCAM computes it: w = softmax_k( (1/S) Σ_s y((M_k + δ_sk) ⊙ x) ), M_k
// Score-CAM's mask of channel k, δ_sk Gaussian noise of standard deviation
// Noise on the mask (each pixel, channel and sample its own draw), y the
// explained score (a logit: torch-cam subtracts the unmasked image's,
// which the softmax cancels). Defaults torch-cam's: 35 samples, σ = 2.
// tfcam's masks are Score-CAM's (upsampled, then min–max scaled); torch-cam
// scales at the layer's resolution, then upsamples (bilinear, half-pixel):
// the same where a channel's extremes are at its upsampled grid's samples,
// slightly different elsewhere. Seeded: the noise depends on Config.Seed,
// the sample and the channel, not the image. Cost: Samples·K forward passes
// per image (8,960 at K = 256 with the defaults).
type SSCAM struct {
	// Samples is the number of noisy masks per channel.
	Samples int
	// Noise is the noise's standard deviation on masks in [0,1] (negative:
	// none, which is Score-CAM's softmax variant).
	Noise float32
}

// Name implements Method.
func (SSCAM) Name() string { return "sscam" }

// Needs implements Method.
func (SSCAM) Needs() Needs { return Needs{} }

// Weights implements WeightMethod.
func (m SSCAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	c := t.Ctx
	m = Resolve(m)
	n, noise := m.Samples, max(m.Noise, 0)
	k := int(t.A.Shape().Size(3))
	h, w := int32(c.Input.Shape().Size(1)), int32(c.Input.Shape().Size(2))
	seed := constant(o.s, []int64{c.Seed, 6})
	maskOf := channelMaskRows(o, t.A, t.Upsample)
	wt, err := softmaxScoreWeights(o, c, n, k, func(o *Ops, g, ch, i tf.Output) tf.Output {
		// δ of sample g, channel ch: row g·K+ch of a [n·K, H·W] draw.
		masks := maskOf(o, ch, i)
		if noise == 0 {
			return masks
		}
		delta := normalRows(o, seed, []int32{h, w}, o.Add(o.mulInt(g, int32(k)), ch))
		return o.Add(masks, o.Mul(delta, o.Const(noise)))
	})
	if err != nil {
		return tf.Output{}, err
	}
	return wt, nil
}
