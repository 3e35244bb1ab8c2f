package explainer

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/tfgraph"
)

var _ = Register(Spec[FullGrad]{
	Name: "fullgrad", Family: FamilyInput, Order: 80,
	Summary: "FullGrad: Σ_c ψ(|x·∂y/∂x|) + Σ over every bias b added to a feature map z of upsampled Σ_k ψ(|b·∂y/∂z|), ψ = per-channel min–max",
	Notes: "pytorch-grad-cam 1.5's post-processing (formula checked in Go: torch does not run here); bias sites are convolution biases, " +
		"batch normalisations (effective bias) and constant offsets such as a Rescaling layer's, found in the graph and checked by the " +
		"completeness identity y = Σ x·∂y/∂x + Σ b·∂y/∂z on the piecewise-linear fixtures; no extra forward pass, one backward pass " +
		"to the input and every bias (~1.5× saliency's time); ignores `--layer`",
})

// FullGrad (Srinivas & Fleuret 2019, "Full-Gradient Representation for
// Neural Network Visualization"), in pytorch-grad-cam 1.5's form: the
// input-gradient term |x ⊙ ∇ₓy| plus, for every bias b added to a spatial
// feature map z on the way to the output, the bias-gradient term |b ⊙ ∂y/∂z|.
// Each term is post-processed channel by channel — min–max scaled to
// [0,1] per image and channel ((x − min) ÷ (max − min + 1e-7)) and resized
// bilinearly to the input — and everything is summed:
//
//	map = Σ_c ψ(|x_c·g_c|) + Σ_sites Σ_k ψ(|b_k·∂y/∂z_k|)
//
// Bias sites (tfgraph.Forward.BiasSites) are BiasAdd ops (convolutions),
// additions of a per-channel constant vector (Keras 3's batch
// normalisation, x·inv + (offset − mean·inv), whose bias is offset −
// mean·inv as pytorch-grad-cam takes a BatchNorm's), inference-mode
// FusedBatchNorm ops (their effective bias) and constant offsets (a
// Rescaling layer's), where the map is larger than 1×1. A model that
// includes its preprocessing thus gets the preprocessing's offset as one
// more term, which pytorch-grad-cam (preprocessing outside the model) does
// not have: it keeps the paper's completeness, y = Σ x·∂y/∂x + Σ b·∂y/∂z
// for piecewise-linear networks (checked in tfgraph's tests). Since
// resizing is linear, each site's channel maps are summed at its own
// resolution and resized once.
//
// Cost: no extra forward pass; one backward pass to the input and every
// bias site. The map is at input resolution and needs no target layer
// (like saliency, it ignores --layer).
type FullGrad struct{}

// Name implements Method.
func (FullGrad) Name() string { return "fullgrad" }

// Needs implements Method.
func (FullGrad) Needs() Needs { return Needs{} }

// InputResolution implements Method.
func (FullGrad) InputResolution() bool { return true }

// Build implements Method.
func (m FullGrad) Build(o *Ops, t Tensors) (tf.Output, error) {
	c := t.Ctx
	all, err := c.e.fw.BiasSites()
	if err != nil {
		return tf.Output{}, err
	}
	var sites []tfgraph.BiasSite
	for _, s := range all {
		if s.Spatial {
			sites = append(sites, s)
		}
	}
	xs := []tf.Output{c.Input}
	for _, s := range sites {
		xs = append(xs, s.Output)
	}
	sum := op.Sum(o.Scope(), c.Selected, constant(o.s, []int32{0}))
	if err := o.s.Err(); err != nil {
		return tf.Output{}, fmt.Errorf("explainer: %w", err)
	}
	grads, err := c.e.fw.GradientsOf(sum, xs...)
	if err != nil {
		return tf.Output{}, err
	}
	// ψ(|x ⊙ g|), channel by channel, summed over channels.
	total := o.ChannelSum(o.g().MinMax(o.Abs(o.Mul(c.e.float32Of(c.Input), c.e.float32Of(grads[0]))), normEps))
	size := constant(o.s, []int32{int32(c.e.h), int32(c.e.w)})
	for i, s := range sites {
		g := c.e.float32Of(grads[i+1])
		term := o.ChannelSum(o.g().MinMax(o.Abs(o.Mul(g, s.Bias)), normEps)) // [N,h,w]
		up := op.ResizeBilinear(o.Scope(), op.ExpandDims(o.Scope(), term, constant(o.s, int32(3))), size, op.ResizeBilinearHalfPixelCenters(true))
		total = o.Add(total, op.Squeeze(o.Scope(), up, op.SqueezeAxis([]int64{3})))
	}
	return total, nil
}
