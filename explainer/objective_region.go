package explainer

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// region is a segmentation output's region objective.
type region struct {
	// mask at its own size (nil: the model's prediction).
	mask         []float32
	maskH, maskW int
}

// Region explains a segmentation output [N,H',W',C]: S[n,c] = Σ_{y,x}
// out[n,y,x,c]·M[n,y,x,c], where M is 1 on the pixels the model's own
// argmax over classes assigns to c (pytorch-grad-cam's
// SemanticSegmentationTarget with the predicted mask). The mask comes from
// the image's own forward pass and is held fixed: the copies a perturbation
// method scores (Score-CAM's masked images) are scored with the original
// image's mask, as pytorch-grad-cam does (it computes the mask once, from
// the original prediction). The top-1 class is the one covering the most
// pixels (ties: the lowest index); Prediction.Score is S.
func Region() Objective { return region{} }

// RegionMask explains a segmentation output with a fixed mask, the same
// for every image and class: S[n,c] = Σ_{y,x} out[n,y,x,c]·M[y,x]. mask
// is h×w row-major, nonzero where it counts; New resizes it
// (nearest-neighbour) to the output's H'×W'. The top-1 class is the one
// the model predicts on the most pixels inside the mask.
func RegionMask(mask []float32, h, w int) Objective {
	return region{mask: mask, maskH: h, maskW: w}
}

func (ob region) String() string {
	if ob.mask != nil {
		return fmt.Sprintf("region:mask=%dx%d", ob.maskH, ob.maskW)
	}
	return "region"
}

func (region) IsClass() bool { return false }

func (ob region) Build(b *ObjectiveBuild) (*ObjectiveGraph, error) {
	base := b.ClassScores()
	shape, err := base.Shape().ToSlice()
	if err != nil || len(shape) != 4 || shape[1] <= 0 || shape[2] <= 0 || shape[3] <= 0 {
		return nil, b.Misfit(ob, base, "a segmentation output [N,H',W',classes] with known H', W' and classes")
	}
	h, w, c := int(shape[1]), int(shape[2]), int(shape[3])
	o := b.Ops("objective")
	s := o.s
	// The predicted mask from the original pass, without a gradient
	// (detached).
	orig := b.Float32(base)
	pred := op.OneHot(o.Scope(), op.ArgMax(o.Scope(), orig, constant(s, int32(3)), op.ArgMaxOutputType(tf.Int32)), constant(s, int32(c)), o.Const(1), o.Const(0))
	pred = detached(o, pred) // [N,H',W',C]
	var fixed tf.Output      // [1,H',W',1] or nil
	if ob.mask != nil {
		m, err := resizeNearest(ob.mask, ob.maskH, ob.maskW, h, w)
		if err != nil {
			return nil, err
		}
		fixed = op.Const(s.SubScope("mask"), reshape4(m, h, w))
	}
	g := &ObjectiveGraph{Base: base, Cols: c,
		Scores: func(o *Ops, x, p tf.Output) tf.Output {
			mask := fixed
			if mask.Op == nil {
				mask = p
			}
			return op.Sum(o.Scope(), o.Mul(b.Float32(x), mask), constant(o.s, []int32{1, 2}))
		},
		Reach: true,
		Rank: func(o *Ops, _ tf.Output) tf.Output {
			m := pred
			if fixed.Op != nil {
				m = o.Mul(pred, fixed)
			}
			return op.Sum(o.Scope(), m, constant(o.s, []int32{1, 2}))
		}}
	if fixed.Op == nil {
		g.Param = pred
	}
	return g, nil
}
