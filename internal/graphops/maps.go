package graphops

import (
	"math"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// Pick is scores[i, classes[i]] for each row i of scores [M, n] (float32)
// and int32 classes [M]: [M].
func (o *Ops) Pick(scores, classes tf.Output, n int) tf.Output {
	onehot := op.OneHot(o.Scope(), classes, o.Constant(int32(n)), o.Const(1), o.Const(0))
	return op.Sum(o.Scope(), o.Mul(scores, onehot), o.Constant([]int32{1}))
}

// BlurRadius is the usual truncation of a Gaussian: 3σ, rounded up.
func BlurRadius(sigma float64) int { return int(math.Ceil(3 * sigma)) }

// MinMax scales each map of m [M,H,W] to [0,1] over axes 1 and 2: (m −
// min) / (max − min + eps). With eps 0 a flat map becomes 0 (division by
// zero gives 0); eps > 0 is the smoothing of pytorch-grad-cam and
// tf-keras-vis's normalisation (1e-7).
func (o *Ops) MinMax(m tf.Output, eps float32) tf.Output {
	axes := o.Constant([]int32{1, 2})
	lo := op.Min(o.Scope(), m, axes, op.MinKeepDims(true))
	hi := op.Max(o.Scope(), m, axes, op.MaxKeepDims(true))
	if eps == 0 {
		return o.Div(o.Sub(m, lo), o.Sub(hi, lo))
	}
	return op.RealDiv(o.Scope(), o.Sub(m, lo), o.Add(o.Sub(hi, lo), o.Const(eps)))
}

// GaussianBlur blurs each channel of x [N,H,W,C] with a Gaussian of
// standard deviation sigma px truncated to 2·radius+1 taps (at most the
// image's smaller side): separable, reflect padding, as kornia's
// gaussian_blur2d.
func (o *Ops) GaussianBlur(x tf.Output, radius int, sigma float64) tf.Output {
	ch := x.Shape().Size(3)
	radius = min(radius, int(min(x.Shape().Size(1), x.Shape().Size(2)))-1)
	k := make([]float64, 2*radius+1)
	var sum float64
	for i := range k {
		d := float64(i - radius)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	pass := func(in tf.Output, kh, kw int) tf.Output {
		filter := make([]float32, 0, len(k)*int(ch))
		for _, v := range k {
			for c := int64(0); c < ch; c++ {
				filter = append(filter, float32(v/sum))
			}
		}
		f := op.Reshape(o.Scope(), o.Constant(filter), o.Constant([]int32{int32(kh), int32(kw), int32(ch), 1}))
		padH, padW := int32((kh-1)/2), int32((kw-1)/2)
		padded := op.MirrorPad(o.Scope(), in, o.Constant([][]int32{{0, 0}, {padH, padH}, {padW, padW}, {0, 0}}), "REFLECT")
		return op.DepthwiseConv2dNative(o.Scope(), padded, f, []int64{1, 1, 1, 1}, "VALID")
	}
	return pass(pass(x, len(k), 1), 1, len(k))
}
