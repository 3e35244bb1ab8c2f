package tfgraph

import (
	"fmt"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	"google.golang.org/protobuf/proto"
)

// Copy is a second instance of the inlined forward pass in the same graph,
// reading the same variables through the same ReadVariableOp tensors (so
// weights fed for a run, Variable.Reads, reach every copy), with some of its tensors replaced: the input
// by masked or noisy images (Score-CAM, SmoothGrad, Integrated Gradients,
// deletion curves), or a layer's output by edited activations (Ablation-CAM,
// which then runs only the layers after it). Everything stays in the graph,
// so a batch remains one Session.Run.
type Copy struct {
	f      *Forward
	prefix string
}

// Copy imports the forward pass again with replace[t] standing in for each
// tensor t (the input or any inlined tensor). Shapes of replacements may
// differ in the batch dimension.
func (f *Forward) Copy(replace map[tf.Output]tf.Output) (*Copy, error) {
	f.scopes++
	c := &Copy{f: f, prefix: fmt.Sprintf("tfcam_copy_%d/", f.scopes)}
	var opts tf.GraphImportOptions
	mapped := map[string]bool{}
	for from, to := range replace {
		name := from.Op.Name()
		if _, ok := f.index[name]; ok {
			name = c.rename(name)
		} else if name != f.Input.Op.Name() {
			return nil, fmt.Errorf("tfgraph: cannot replace %s: not the input or an inlined tensor", from.Op.Name())
		}
		opts.AddInputMapping(name, from.Index, to)
		mapped[fmt.Sprintf("%s:%d", name, from.Index)] = true
	}
	reads := f.varReads()
	nodes := make([]*nodepb.NodeDef, len(f.nodes))
	for i, n := range f.nodes {
		nd := proto.Clone(n).(*nodepb.NodeDef)
		nd.Name = c.rename(n.GetName())
		for j, in := range nd.Input {
			ctrl := strings.HasPrefix(in, "^")
			src, idx := splitTensorName(strings.TrimPrefix(in, "^"))
			if _, read := reads[src]; read && !ctrl {
				// A variable read: the copy uses the original's, so a value
				// fed for it (Variable.Reads) reaches every copy.
				key := fmt.Sprintf("%s:%d", src, idx)
				if !mapped[key] {
					opts.AddInputMapping(src, idx, f.model.Graph.Operation(src).Output(idx))
					mapped[key] = true
				}
				continue
			}
			if _, inside := f.index[src]; inside {
				if ctrl {
					nd.Input[j] = "^" + c.rename(src)
				} else {
					nd.Input[j] = fmt.Sprintf("%s:%d", c.rename(src), idx)
				}
				continue
			}
			if ctrl {
				continue // external control edges were dropped when inlining
			}
			// An external tensor: the variables' handles, or the input.
			key := fmt.Sprintf("%s:%d", src, idx)
			if !mapped[key] {
				op := f.model.Graph.Operation(src)
				if op == nil {
					return nil, fmt.Errorf("tfgraph: copy reads %s, which is not in the graph", key)
				}
				opts.AddInputMapping(src, idx, op.Output(idx))
				mapped[key] = true
			}
		}
		nodes[i] = nd
	}
	raw, err := proto.Marshal(&graphpb.GraphDef{Node: nodes})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: encoding a forward copy: %w", err)
	}
	if err := f.model.Graph.ImportWithOptions(raw, opts); err != nil {
		return nil, fmt.Errorf("tfgraph: importing a forward copy of %s: %w", f.model.Dir, err)
	}
	return c, nil
}

func (c *Copy) rename(name string) string { return c.prefix + strings.TrimPrefix(name, InlinePrefix) }

// Twin returns the copy's version of an inlined tensor of the original
// forward pass (its output, logits or a layer).
func (c *Copy) Twin(t tf.Output) (tf.Output, error) {
	if _, ok := c.f.index[t.Op.Name()]; !ok {
		return tf.Output{}, fmt.Errorf("tfgraph: %s is not part of the inlined forward pass", t.Op.Name())
	}
	op := c.f.model.Graph.Operation(c.rename(t.Op.Name()))
	if op == nil {
		return tf.Output{}, fmt.Errorf("tfgraph: %s has no twin in the copy", t.Op.Name())
	}
	return op.Output(t.Index), nil
}
