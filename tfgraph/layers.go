package tfgraph

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/tfcam/tfcam/internal/suggest"

	tf "github.com/wamuir/graft/tensorflow"
)

// Layer is a candidate explanation target: a named part of the inlined
// forward pass and the one tensor it hands on.
type Layer struct {
	// Name is the name users know (Keras layer name, TF1 scope or op name).
	Name string
	// Scope is the graph scope (or node) behind it, under InlinePrefix.
	Scope string
	// Op is the type of the op producing the output.
	Op string
	// Shape is the static output shape; -1 marks unknown dimensions.
	Shape []int64
	// Spatial reports a 4-D [N,H,W,C] output with a spatial extent.
	Spatial bool
	// Output is the tensor gradients are taken against.
	Output tf.Output

	order int // topological position of the producing node
}

var (
	kerasCallSuffix = regexp.MustCompile(`_\d+$`)
	autoIdentity    = regexp.MustCompile(`^Identity(_\d+)?(_tfcam\d+)?$`)
)

// Layers lists the layers on the path from the input to the output, in
// forward order.
func (f *Forward) Layers() []Layer { return f.layers }

// findLayers groups the inlined nodes into layers: the scopes directly under
// the model's root scope. Keras puts each layer's ops in one scope, TF1
// graphs in their variable scopes; the layer's output is the tensor that
// leaves the scope.
func (f *Forward) findLayers() error {
	names := make([]string, len(f.nodes))
	for i, n := range f.nodes {
		names[i] = n.GetName()
	}
	f.root = modelRoot(names)
	// Keras 3 scopes each layer call as "<layer>_<call#>" inside a model
	// scope named the same way; users know the names without the suffix.
	f.keras3 = kerasCallSuffix.MatchString(f.root[strings.LastIndex(f.root, "/")+1:])

	consumers := map[string][]int{} // tensor → consuming node positions
	for i, n := range f.nodes {
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") {
				consumers[normTensor(in)] = append(consumers[normTensor(in)], i)
			}
		}
	}
	onPath := f.pathNodes(consumers)
	f.onPath = onPath
	group := map[string]string{} // node → its layer scope
	var scopes []string
	for _, name := range names {
		rel := strings.TrimPrefix(name, f.root+"/")
		if rel == name {
			continue
		}
		scope := f.root + "/" + strings.SplitN(rel, "/", 2)[0]
		if _, seen := group[scope]; !seen {
			scopes = append(scopes, scope)
			group[scope] = scope
		}
		group[name] = scope
	}
	outName := f.Output.Op.Name() + ":" + fmt.Sprint(f.Output.Index)
	byName := map[string]int{}
	for _, scope := range scopes {
		best, bestOrder := "", -1
		for i, n := range f.nodes {
			if group[n.GetName()] != scope || !onPath[i] {
				continue
			}
			op := f.model.Graph.Operation(n.GetName())
			for k := 0; k < op.NumOutputs(); k++ {
				t := n.GetName() + ":" + fmt.Sprint(k)
				if !isFloatDType(op.Output(k).DataType()) {
					continue
				}
				leaves := t == outName
				for _, c := range consumers[t] {
					if group[f.nodes[c].GetName()] != scope {
						leaves = true
					}
				}
				if leaves && i > bestOrder {
					best, bestOrder = t, i
				}
			}
		}
		// Skip ops with no outputs, and the Identity ops TensorFlow adds to
		// return function values: they repeat the layer before them.
		if best == "" || autoIdentity.MatchString(strings.TrimPrefix(scope, f.root+"/")) {
			continue
		}
		name := displayName(scope, f.keras3)
		if _, bare := f.index[scope]; bare && f.keras3 {
			name = kerasOpName(name)
		}
		l, err := f.layerAt(name, scope, best)
		if err != nil {
			return err
		}
		byName[l.Name]++
		f.layers = append(f.layers, l)
	}
	// Where stripping the Keras suffix made two names equal, keep the raw ones.
	for i := range f.layers {
		if byName[f.layers[i].Name] > 1 {
			f.layers[i].Name = strings.TrimPrefix(f.layers[i].Scope, f.root+"/")
		}
	}
	sort.SliceStable(f.layers, func(i, j int) bool { return f.layers[i].order < f.layers[j].order })
	return nil
}

func displayName(scope string, keras3 bool) string {
	name := scope[strings.LastIndex(scope, "/")+1:]
	if keras3 {
		name = kerasCallSuffix.ReplaceAllString(name, "")
	}
	return name
}

// layerAt describes tensor t as a layer.
func (f *Forward) layerAt(name, scope, t string) (Layer, error) {
	opName, idx := splitTensorName(t)
	op := f.model.Graph.Operation(opName)
	if op == nil {
		return Layer{}, fmt.Errorf("tfgraph: inlined node %q missing from the graph", opName)
	}
	out := op.Output(idx)
	l := Layer{Name: name, Scope: scope, Op: op.Type(), Output: out, order: f.index[opName]}
	if shape := out.Shape(); shape.NumDimensions() >= 0 {
		l.Shape, _ = shape.ToSlice()
		if len(l.Shape) == 4 {
			l.Spatial = l.Shape[1] != 1 || l.Shape[2] != 1
		}
	}
	return l, nil
}

// pathNodes marks nodes reachable from the input and reaching the output.
func (f *Forward) pathNodes(consumers map[string][]int) map[int]bool {
	fromInput := map[int]bool{}
	var down func(t string)
	down = func(t string) {
		for _, c := range consumers[t] {
			if fromInput[c] {
				continue
			}
			fromInput[c] = true
			n := f.nodes[c]
			op := f.model.Graph.Operation(n.GetName())
			for k := 0; k < op.NumOutputs(); k++ {
				down(n.GetName() + ":" + fmt.Sprint(k))
			}
		}
	}
	down(f.Input.Op.Name() + ":" + fmt.Sprint(f.Input.Index))
	toOutput := map[int]bool{}
	var up func(name string)
	up = func(name string) {
		i, ok := f.index[name]
		if !ok || toOutput[i] {
			return
		}
		toOutput[i] = true
		for _, in := range f.nodes[i].GetInput() {
			if !strings.HasPrefix(in, "^") {
				src, _ := splitTensorName(in)
				up(src)
			}
		}
	}
	up(f.Output.Op.Name())
	on := map[int]bool{}
	for i := range f.nodes {
		on[i] = fromInput[i] && toOutput[i]
	}
	return on
}

// modelRoot descends from InlinePrefix into the scope that holds nearly all
// nodes (a Keras model's own scope inside its serving wrapper). The nodes
// that size an open input or stand in for a uint8 one are not counted.
func modelRoot(names []string) string {
	root := strings.TrimSuffix(InlinePrefix, "/")
	for {
		counts := map[string]int{}
		deeper := map[string]bool{}
		total := 0
		for _, n := range names {
			rel := strings.TrimPrefix(n, root+"/")
			if rel == n || strings.HasPrefix(n, sizedInputScope) || strings.HasPrefix(n, pixelsScope) {
				continue
			}
			total++
			parts := strings.SplitN(rel, "/", 2)
			counts[parts[0]]++
			if len(parts) == 2 {
				deeper[parts[0]] = true
			}
		}
		next := ""
		for c, k := range counts {
			// Nearly all nodes, or (small models, whose serving wrapper's
			// few Identity/NoOp nodes weigh more) the only scope, holding
			// two thirds.
			if deeper[c] && total > 1 && (k*10 >= total*9 || (len(deeper) == 1 && k*3 >= total*2)) {
				next = c
			}
		}
		if next == "" {
			return root
		}
		root += "/" + next
	}
}

func normTensor(t string) string {
	name, idx := splitTensorName(t)
	return name + ":" + fmt.Sprint(idx)
}

// Layer finds a layer by the name users know, its scope, or any node name
// (relative to the model, as in TF1 graphs: "block4/relu").
func (f *Forward) Layer(name string) (Layer, error) {
	for _, l := range f.layers {
		if l.Name == name || l.Scope == name || strings.TrimPrefix(l.Scope, f.root+"/") == name {
			return l, nil
		}
	}
	for _, cand := range []string{name, InlinePrefix + name, f.root + "/" + name} {
		if i, ok := f.index[cand]; ok {
			t := cand + ":0"
			l, err := f.layerAt(name, cand, t)
			if err != nil {
				return Layer{}, err
			}
			if !f.onPath[i] {
				return Layer{}, fmt.Errorf("tfgraph: layer %q of %s is not on the path from the input to the output, so the class score has no gradient there; pick a layer from `tfcam layers`", name, f.model.Dir)
			}
			return l, nil
		}
	}
	return Layer{}, fmt.Errorf("tfgraph: layer %q not found in %s%s; list the layers with `tfcam layers --model %s`", name, f.model.Dir, f.suggest(name), f.model.Dir)
}

// DefaultLayer is the last spatial 4-D layer of the forward pass, the one
// global pooling or flattening reads (tf-keras-vis's penultimate-layer
// search does the same); for a transformer (attention on token layers
// after the last spatial layer) the token layer the last attention reads
// (see transformerDefault; explain it through a TokenView).
func (f *Forward) DefaultLayer() (Layer, error) {
	if l, ok := f.transformerDefault(); ok {
		return l, nil
	}
	// A spatial output (a segmentation model's [N,H,W,C]) is what is
	// explained, not a layer to explain it at: the default is the last
	// spatial layer before it.
	out := f.Output
	for out.Op.Type() == "Identity" || out.Op.Type() == "Snapshot" || out.Op.Type() == "StopGradient" {
		out = f.input0(out.Op)
	}
	for i := len(f.layers) - 1; i >= 0; i-- {
		if l := f.layers[i]; l.Spatial && (l.Output.Op.Name() != out.Op.Name() || l.Output.Index != out.Index) {
			return f.layers[i], nil
		}
	}
	return Layer{}, fmt.Errorf("tfgraph: %s has no spatial 4-D layer between its input and output; tfcam explains convolutional image classifiers", f.model.Dir)
}

func (f *Forward) suggest(name string) string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, l := range f.layers {
		cs = append(cs, cand{l.Name, suggest.Distance(strings.ToLower(name), strings.ToLower(l.Name))})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, fmt.Sprintf("%q", cs[i].name))
	}
	if len(out) == 0 {
		return ""
	}
	return " (did you mean " + strings.Join(out, ", ") + "?)"
}

// MaxActivation is the number of values per image of the largest layer
// output of the forward pass (unknown dimensions counted as 1).
func (f *Forward) MaxActivation() int64 {
	var best int64
	for _, l := range f.layers {
		n := int64(1)
		for _, d := range l.Shape[min(1, len(l.Shape)):] {
			if d > 0 {
				n *= d
			}
		}
		best = max(best, n)
	}
	return best
}
