package tfgraph

import (
	"errors"
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// passThrough ops do not change values; head matching looks through them.
// Cast is one: mixed-precision Keras pools in float32 between casts.
var passThrough = map[string]bool{"Identity": true, "Reshape": true, "Squeeze": true, "Snapshot": true, "Cast": true}

// ErrNoDenseHead is wrapped by DenseHeadKernel's error for a layer that
// does not feed a global-average-pool + Dense head.
var ErrNoDenseHead = errors.New("no global-average-pooling + Dense head")

// DenseHeadKernel returns the kernel [K, classes] of a global-average-pool
// + Dense head reading layer directly: the weights of CAM (Zhou et al.
// 2016). Any other head (Flatten + Dense, extra layers, a token layer) is
// an error wrapping ErrNoDenseHead that says why, since CAM's weights are
// only defined for that architecture.
func (f *Forward) DenseHeadKernel(layer Layer) (tf.Output, error) {
	fail := func(why string) (tf.Output, error) {
		return tf.Output{}, fmt.Errorf("tfgraph: layer %q of %s: %s: %w", layer.Name, f.model.Dir, why, ErrNoDenseHead)
	}
	consumers := func(t string) []*nodepb.NodeDef {
		var out []*nodepb.NodeDef
		for i, n := range f.nodes {
			if !f.onPath[i] {
				continue // dead ends (e.g. custom-gradient leftovers)
			}
			for _, in := range n.GetInput() {
				if normTensor(in) == t {
					out = append(out, n)
				}
			}
		}
		return out
	}
	// Follow single consumers through pass-through ops.
	follow := func(t string) *nodepb.NodeDef {
		for {
			cs := consumers(t)
			if len(cs) != 1 {
				return nil
			}
			if !passThrough[cs[0].GetOp()] {
				return cs[0]
			}
			t = cs[0].GetName() + ":0"
		}
	}
	pool := follow(fmt.Sprintf("%s:%d", layer.Output.Op.Name(), layer.Output.Index))
	if pool == nil || pool.GetOp() != "Mean" {
		return fail("its output does not go to a global average pooling alone")
	}
	mm := follow(pool.GetName() + ":0")
	if mm == nil || mm.GetOp() != "MatMul" {
		return fail("the pooled features do not go to a Dense (MatMul)")
	}
	if mm.GetAttr()["transpose_b"].GetB() || mm.GetAttr()["transpose_a"].GetB() {
		return fail("the Dense MatMul is transposed")
	}
	// The class scores must be the MatMul or its bias add.
	if logits, _ := f.Logits(); logits.Op.Name() != mm.GetName() {
		next := follow(mm.GetName() + ":0")
		if next == nil || next.GetName() != logits.Op.Name() {
			return fail("the Dense layer's output is not the class scores")
		}
	}
	name, idx := splitTensorName(mm.GetInput()[1])
	if i, ok := f.index[name]; ok && f.nodes[i].GetOp() == "Cast" {
		// Mixed precision: the float32 kernel, not its float16 copy.
		name, idx = splitTensorName(f.nodes[i].GetInput()[0])
	}
	op := f.model.Graph.Operation(name)
	if op == nil {
		return fail("its kernel is not in the graph")
	}
	return op.Output(idx), nil
}
