package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[ISCAM]{
	Name: "iscam", Family: FamilyMore, Order: 56,
	Summary: "IS-CAM: SS-CAM's weights with the mask scaled by a_s = Σ_{p≤s} p/S, s = 1…S, instead of noise",
	Notes:   "torch-cam's ISCAM (its default: 10 samples; its cumulative scales, up to 5.5); samples·K forward passes. Checked against the formula as torch-cam's source defines it",
	Options: []Option{{Name: "samples", Default: 10, Min: 1, Doc: "scales per channel"}},
	Cost:    func(m ISCAM, g Geometry) Cost { return Cost{Copies: m.Samples * g.K, ChunkBuilt: m.Samples * g.K} },
})

// ISCAM is IS-CAM (Naidu et al. 2020, "Integrated Score-CAM") as
// torch-cam's ISCAM computes it: w = softmax_k( (1/S) Σ_s y(a_s·M_k ⊙ x) ),
// M_k Score-CAM's mask of channel k, y the explained score (a logit; the
// unmasked image's, which torch-cam subtracts, cancels in the softmax), and
// torch-cam's scales a_s = Σ_{p=1..s} p/S, s = 1 … S (cumulative: 0.1, 0.3,
// 0.6, …, 5.5 at S = 10, where the paper's integral would run to 1). Default
// torch-cam's: 10 samples. Masks as SSCAM's (Score-CAM's). Cost: Samples·K
// forward passes per image.
type ISCAM struct {
	// Samples is the number of scales per channel.
	Samples int
}

// Name implements Method.
func (ISCAM) Name() string { return "iscam" }

// Needs implements Method.
func (ISCAM) Needs() Needs { return Needs{} }

// Weights implements WeightMethod.
func (m ISCAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	c := t.Ctx
	n := Resolve(m).Samples
	k := int(t.A.Shape().Size(3))
	scales := make([]float32, n)
	var acc float64
	for s := range scales {
		acc += float64(s+1) / float64(n)
		scales[s] = float32(acc)
	}
	maskOf := channelMaskRows(o, t.A, t.Upsample)
	wt, err := softmaxScoreWeights(o, c, n, k, func(o *Ops, g, ch, i tf.Output) tf.Output {
		scale := op.Reshape(o.Scope(), op.GatherV2(o.Scope(), constant(o.s, scales), g, constant(o.s, int32(0))), constant(o.s, []int32{-1, 1, 1}))
		return o.Mul(scale, maskOf(o, ch, i))
	})
	if err != nil {
		return tf.Output{}, err
	}
	return wt, nil
}
