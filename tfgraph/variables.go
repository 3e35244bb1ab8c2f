package tfgraph

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
)

// ErrNoVariables is wrapped by Variables' error for a model whose forward
// pass reads no float32 resource variables (a frozen graph keeps its
// weights in constants, a TF1 graph in reference variables): tfcam cannot
// replace its weights by feeds.
var ErrNoVariables = errors.New("no float32 resource variables in the forward pass")

// Variable is one weight tensor of the model as the inlined forward pass
// reads it. Feeding Reads (all of them, the same value) replaces the
// weight for one Session.Run without touching the session's variables,
// and every Copy of the forward pass reads the same tensors, so copies see
// the fed value too.
type Variable struct {
	// Name is the variable's name in the graph ("conv1/kernel").
	Name string
	// Layer is the name of the layer (Keras layer, TF1 scope) that reads it.
	Layer string
	// Shape is the variable's static shape.
	Shape []int64
	// Reads are the ReadVariableOp outputs of the inlined forward pass that
	// read it (float32).
	Reads []tf.Output

	order int // position of the last node consuming a read
}

// VariableLayer is a layer with weights: its variables, in graph order.
type VariableLayer struct {
	// Name is the layer's name.
	Name string
	// Variables are its weights.
	Variables []Variable
}

// varReads finds the ReadVariableOp nodes that read a variable handle from
// outside the inlined forward pass: node name → the handle's op name.
func (f *Forward) varReads() map[string]string {
	if f.reads != nil {
		return f.reads
	}
	f.reads = map[string]string{}
	for _, n := range f.nodes {
		if n.GetOp() != "ReadVariableOp" || len(n.GetInput()) == 0 {
			continue
		}
		src, _ := splitTensorName(n.GetInput()[0])
		if _, inside := f.index[src]; inside {
			continue
		}
		if op := f.model.Graph.Operation(src); op != nil && op.Type() == "VarHandleOp" {
			f.reads[n.GetName()] = src
		}
	}
	return f.reads
}

// VariableLayers groups the float32 variables the forward pass reads into
// the layers that read them, ordered from the output down: the layer whose
// weights are used last comes first (for a chain of layers, the one
// closest to the output). This is the order of a top-down cascading
// randomisation (Adebayo et al. 2018). A model without such variables
// gives an error wrapping ErrNoVariables.
func (f *Forward) VariableLayers() ([]VariableLayer, error) {
	// Reads are not on the input's path (f.onPath): their consumers (a
	// Cast, the bias's Reshape) lead into it.
	last := map[string]int{} // tensor → position of its last consumer
	for i, n := range f.nodes {
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") {
				last[normTensor(in)] = i
			}
		}
	}
	byHandle := map[string]*Variable{}
	for name, handle := range f.varReads() {
		t := name + ":0"
		pos, used := last[t]
		if !used {
			continue // read, never used
		}
		op := f.model.Graph.Operation(name)
		if op == nil || op.Output(0).DataType() != tf.Float {
			continue
		}
		v := byHandle[handle]
		if v == nil {
			v = &Variable{Name: strings.TrimPrefix(handle, f.root+"/"), Layer: f.layerOf(name), order: -1}
			if sn := f.model.Graph.Operation(handle).Attr; sn != nil {
				if s, err := sn("shared_name"); err == nil {
					if s, ok := s.(string); ok && s != "" {
						v.Name = s
					}
				}
			}
			if f.keras3 {
				// Keras 3 exports name the handles "<layer>/<weight>_<n>".
				v.Name = kerasCallSuffix.ReplaceAllString(v.Name, "")
			}
			if shape, err := op.Output(0).Shape().ToSlice(); err == nil {
				v.Shape = shape
			}
			byHandle[handle] = v
		}
		v.Reads = append(v.Reads, op.Output(0))
		v.order = max(v.order, pos)
	}
	if len(byHandle) == 0 {
		return nil, fmt.Errorf("tfgraph: %s: %w; sanity checks need a SavedModel whose weights are variables (a Keras or tf.Module export)", f.model.Dir, ErrNoVariables)
	}
	layers := map[string]*VariableLayer{}
	order := map[string]int{}
	for _, v := range byHandle {
		sort.Slice(v.Reads, func(i, j int) bool { return v.Reads[i].Op.Name() < v.Reads[j].Op.Name() })
		l := layers[v.Layer]
		if l == nil {
			l = &VariableLayer{Name: v.Layer}
			layers[v.Layer] = l
		}
		l.Variables = append(l.Variables, *v)
		order[v.Layer] = max(order[v.Layer], v.order)
	}
	out := make([]VariableLayer, 0, len(layers))
	for _, l := range layers {
		sort.Slice(l.Variables, func(i, j int) bool {
			a, b := l.Variables[i], l.Variables[j]
			if a.order != b.order {
				return a.order < b.order
			}
			return a.Name < b.Name
		})
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool {
		if order[out[i].Name] != order[out[j].Name] {
			return order[out[i].Name] > order[out[j].Name]
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// layerOf names the layer a node belongs to: the scope directly under the
// model's root, as Layers names them.
func (f *Forward) layerOf(node string) string {
	rel := strings.TrimPrefix(node, f.root+"/")
	if rel == node {
		return strings.TrimPrefix(node, InlinePrefix)
	}
	scope := f.root + "/" + strings.SplitN(rel, "/", 2)[0]
	for _, l := range f.layers {
		if l.Scope == scope {
			return l.Name
		}
	}
	return displayName(scope, f.keras3)
}
