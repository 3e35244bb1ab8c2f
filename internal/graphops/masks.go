package graphops

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// ChannelMasks are Score-CAM's masks: each channel of a [N,h,w,K],
// upsampled to the input and min–max scaled to [0,1], as [K·N,H,W],
// copy-major (channel k of image i at k·N+i).
func (o *Ops) ChannelMasks(a tf.Output, upsample func(tf.Output) tf.Output) tf.Output {
	perChannel := op.Transpose(o.Scope(), a, o.Constant([]int32{3, 0, 1, 2})) // [K,N,h,w]
	h, w := int32(a.Shape().Size(1)), int32(a.Shape().Size(2))
	up := upsample(op.Reshape(o.Scope(), perChannel, o.Constant([]int32{-1, h, w}))) // [K·N,H,W]
	return o.MinMax(up, 0)
}
