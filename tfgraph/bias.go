package tfgraph

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// BiasSite is a place where the forward pass adds a per-channel bias to a
// feature map: z = x + b with x [N,…,K] depending on the image and b [K]
// not. FullGrad (Srinivas & Fleuret 2019) weighs the gradient at z by
// b: for a piecewise-linear network the output is the input-gradient term
// plus the sum, over every such site, of b·∂y/∂z.
type BiasSite struct {
	// Name is the node that adds the bias (relative to the inlined model).
	Name string
	// Op is that node's type: BiasAdd, AddV2/Add/Sub (a constant vector or
	// scalar added or subtracted, e.g. Keras 3's batch normalisation,
	// x·inv + (offset − mean·inv), or a Rescaling layer's offset) or
	// FusedBatchNorm* in inference mode.
	Op string
	// Output is z, the tensor [N,…,K] after the bias.
	Output tf.Output
	// Spatial reports a 4-D z [N,h,w,K] larger than 1×1 (a convolution's or
	// batch normalisation's feature map; not a Dense layer's [N,K], nor a
	// squeeze-and-excitation 1×1 map).
	Spatial bool
	// Bias is b [K] in float32 (a scalar repeated K times; −c for x − c);
	// for a fused batch normalisation its effective bias offset −
	// scale·mean/√(variance + ε).
	Bias tf.Output
}

// BiasSites lists the bias additions on the path from the input to the
// output, in forward order.
func (f *Forward) BiasSites() ([]BiasSite, error) {
	var sites []BiasSite
	s := f.newScope("bias_sites")
	tensor := func(name string) tf.Output {
		src, idx := splitTensorName(name)
		o := f.model.Graph.Operation(src)
		if o == nil {
			return tf.Output{}
		}
		return o.Output(idx)
	}
	onPath := func(name string) bool {
		src, _ := splitTensorName(name)
		i, ok := f.index[src]
		return ok && f.onPath[i]
	}
	for i, n := range f.nodes {
		if !f.onPath[i] {
			continue
		}
		o := f.model.Graph.Operation(n.GetName())
		if o == nil || o.NumOutputs() == 0 {
			continue
		}
		z := o.Output(0)
		shape, err := z.Shape().ToSlice()
		if err != nil || len(shape) < 2 || shape[len(shape)-1] <= 0 {
			continue
		}
		k := shape[len(shape)-1]
		in := n.GetInput()
		ss := s.SubScope(fmt.Sprintf("site%d", i))
		site := BiasSite{Name: n.GetName()[len(InlinePrefix):], Op: n.GetOp(), Output: z,
			Spatial: len(shape) == 4 && shape[1]*shape[2] > 1}
		switch n.GetOp() {
		case "BiasAdd", "AddV2", "Add", "Sub":
			if len(in) != 2 {
				continue
			}
			var b tf.Output
			switch {
			case onPath(in[0]) && !onPath(in[1]):
				b = tensor(in[1])
			case onPath(in[1]) && !onPath(in[0]) && n.GetOp() != "BiasAdd" && n.GetOp() != "Sub":
				b = tensor(in[0])
			default:
				continue
			}
			if b.Op == nil {
				continue
			}
			perChannel, scalar := channelVector(b, k)
			if !perChannel && !scalar {
				continue
			}
			b = asFloat32(ss.SubScope("b"), b)
			if n.GetOp() == "Sub" {
				b = op.Neg(ss.SubScope("neg"), b) // x − c adds −c
			}
			if scalar {
				// The same value added to every channel.
				b = op.Mul(ss.SubScope("fill"), op.Reshape(ss.SubScope("scalar"), b, op.Const(ss.SubScope("shape"), []int32{})), op.Const(ss.SubScope("ones"), ones(k)))
			}
			site.Bias = op.Reshape(ss.SubScope("flat"), b, op.Const(ss.SubScope("k"), []int32{int32(k)}))
		case "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3":
			if len(in) < 5 || (n.GetAttr()["is_training"] != nil && n.GetAttr()["is_training"].GetB()) {
				continue
			}
			eps := float32(1e-3)
			if a := n.GetAttr()["epsilon"]; a != nil {
				eps = a.GetF()
			}
			scale, offset := asFloat32(ss.SubScope("scale"), tensor(in[1])), asFloat32(ss.SubScope("offset"), tensor(in[2]))
			mean, variance := asFloat32(ss.SubScope("mean"), tensor(in[3])), asFloat32(ss.SubScope("variance"), tensor(in[4]))
			inv := op.Rsqrt(ss.SubScope("rsqrt"), op.AddV2(ss.SubScope("eps"), variance, op.Const(ss.SubScope("epsv"), eps)))
			site.Bias = op.Sub(ss.SubScope("bias"), offset, op.Mul(ss.SubScope("shift"), op.Mul(ss.SubScope("scaled"), scale, mean), inv))
		default:
			continue
		}
		if err := s.Err(); err != nil {
			return nil, fmt.Errorf("tfgraph: the bias of %s: %w", site.Name, err)
		}
		sites = append(sites, site)
	}
	return sites, nil
}

// channelVector reports whether b varies along the last axis only, with k
// values ([k], [1,k], …, [1,1,1,k]: perChannel), or is one value ([], [1],
// [1,1,1,1]: scalar) — a bias either way.
func channelVector(b tf.Output, k int64) (perChannel, scalar bool) {
	shape, err := b.Shape().ToSlice()
	if err != nil || len(shape) > 4 {
		return false, false
	}
	for i, d := range shape {
		if d != 1 && !(i == len(shape)-1 && d == k) {
			return false, false
		}
	}
	if len(shape) > 0 && shape[len(shape)-1] == k && k != 1 {
		return true, false
	}
	return false, true
}

func ones(k int64) []float32 {
	v := make([]float32, k)
	for i := range v {
		v[i] = 1
	}
	return v
}

// asFloat32 casts a half-precision tensor to float32 in scope s.
func asFloat32(s *op.Scope, t tf.Output) tf.Output {
	if t.DataType() == tf.Float {
		return t
	}
	return op.Cast(s, t, tf.Float)
}
