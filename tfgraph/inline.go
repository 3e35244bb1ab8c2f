package tfgraph

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"

	tf "github.com/wamuir/graft/tensorflow"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	oppb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/tfcam/tfcam/cgo"
)

// InlinePrefix starts the name of every node tfgraph copies into the graph.
const InlinePrefix = "tfcam/"

// Forward is the model's forward pass from the signature input to its
// output, copied into the loaded graph as plain ops: function calls
// (StatefulPartitionedCall and friends) inlined recursively, and ops
// without a C++ gradient rewritten. It reads the session's restored
// variables, so it computes exactly what the signature computes, while every
// layer's output is an addressable tensor and AddGradients can go through it.
type Forward struct {
	model *Model
	// Input is the signature's image placeholder (for a model loaded with an
	// input size, its reshape to that size, with a static shape; for a
	// uint8 input, the float32 placeholder of pixel values 0..255 that
	// replaces its cast to float).
	Input tf.Output
	// Output is the inlined twin of the signature's output.
	Output tf.Output
	// Rewrites counts the rewrites made, by kind (e.g. "IdentityN→bypass").
	Rewrites map[string]int
	// GuidedReLUs counts the ReLU gradients the last GuidedGradients call
	// made guided.
	GuidedReLUs int

	nodes  []*nodepb.NodeDef // emitted nodes, in topological order
	index  map[string]int    // node name → position in nodes
	layers []Layer
	onPath map[int]bool // nodes between the input and the output
	scopes int          // counter for unique names of appended ops
	root   string       // scope under which layers are named
	keras3 bool         // layer scopes carry Keras 3's "_N" call suffix
	// reads are the ReadVariableOp nodes reading a variable handle of the
	// loaded graph (node → handle), found on first use (varReads).
	reads map[string]string
}

// Nodes that hold state or feed the graph: inlined ops read them from the
// loaded graph instead of copying them.
var externalOps = map[string]bool{
	"VarHandleOp": true, "VariableV2": true, "Variable": true, "Placeholder": true,
	"PlaceholderWithDefault": true, "HashTableV2": true, "MutableHashTableV2": true,
}

var callOps = map[string]bool{"StatefulPartitionedCall": true, "PartitionedCall": true}

// inliner copies the forward pass. New tensors are named "node:index".
type inliner struct {
	ops      map[string]*oppb.OpDef
	funcs    map[string]*fnpb.FunctionDef
	top      map[string]*nodepb.NodeDef
	out      []*nodepb.NodeDef
	used     map[string]bool
	external map[string]bool     // external tensors referenced ("node:idx")
	topDone  map[string][]string // top-level node → its new output tensors
	topCtrl  map[string][]string // top-level node → nodes a control edge on it becomes
	rewrites map[string]int
	depth    int
	// sized, when set, is the shape [-1,H,W,C] the input takes in the
	// inlined graph (LoadOptions.InputSize for a signature with open H/W):
	// the input reaches it through a Reshape to that shape, so that every
	// inlined tensor gets a static shape.
	input      string
	sized      []int32
	sizedInput string
	// uint8: the signature's uint8 image input, read only through casts
	// to float, which become pixels (a float32 placeholder with the
	// input's shape); uint8Aliases are tensors equal to it (Identity).
	uint8        string
	uint8Shape   []int64
	uint8Aliases map[string]bool
	pixels       string
}

// registeredOps is TensorFlow's op registry by name, read once per process.
var registeredOps = sync.OnceValues(func() (map[string]*oppb.OpDef, error) {
	raw, err := cgo.AllOpList()
	if err != nil {
		return nil, err
	}
	var list oppb.OpList
	if err := proto.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("tfgraph: decoding TensorFlow's op list: %w", err)
	}
	ops := make(map[string]*oppb.OpDef, len(list.Op))
	for _, op := range list.Op {
		ops[op.Name] = op
	}
	return ops, nil
})

// GraphDef returns the model graph, with its function library, as a proto.
func (m *Model) GraphDef() (*graphpb.GraphDef, error) {
	var buf bytes.Buffer
	if _, err := m.Graph.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("tfgraph: exporting the graph of %s: %w", m.Dir, err)
	}
	def := new(graphpb.GraphDef)
	if err := proto.Unmarshal(buf.Bytes(), def); err != nil {
		return nil, fmt.Errorf("tfgraph: decoding the graph of %s: %w", m.Dir, err)
	}
	return def, nil
}

// Inline copies the signature's forward pass into the graph (once; later
// calls return the same Forward).
func (m *Model) Inline() (*Forward, error) {
	if m.forward != nil {
		return m.forward, nil
	}
	def, err := m.GraphDef()
	if err != nil {
		return nil, err
	}
	ops, err := registeredOps()
	if err != nil {
		return nil, err
	}
	in := &inliner{
		ops: ops, funcs: map[string]*fnpb.FunctionDef{}, top: map[string]*nodepb.NodeDef{},
		used: map[string]bool{}, external: map[string]bool{}, topDone: map[string][]string{},
		topCtrl: map[string][]string{}, rewrites: map[string]int{},
	}
	if m.InputKind == InputUint8 {
		// The float32 placeholder standing in for the uint8 input gets the
		// (sized) static shape directly: no Reshape is needed.
		in.uint8 = fmt.Sprintf("%s:%d", m.Input.Output.Op.Name(), m.Input.Output.Index)
		in.uint8Shape = append([]int64{-1}, m.Input.Shape[1:]...)
		in.uint8Aliases = map[string]bool{in.uint8: true}
	} else if m.openInput {
		in.input = fmt.Sprintf("%s:%d", m.Input.Output.Op.Name(), m.Input.Output.Index)
		for _, d := range m.Input.Shape {
			in.sized = append(in.sized, int32(d))
		}
		in.sized[0] = -1
	}
	for _, f := range def.GetLibrary().GetFunction() {
		in.funcs[f.GetSignature().GetName()] = f
	}
	for _, n := range def.GetNode() {
		in.top[n.GetName()] = n
		if strings.HasPrefix(n.GetName(), InlinePrefix) {
			return nil, fmt.Errorf("tfgraph: %s already has nodes under %q; tfcam cannot inline it twice", m.Dir, InlinePrefix)
		}
	}
	outName, err := in.topTensor(m.Output.Output.Op.Name(), m.Output.Output.Index)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: inlining the forward pass of %s: %w", m.Dir, err)
	}
	newDef := &graphpb.GraphDef{Node: in.out, Versions: def.GetVersions()}
	raw, err := proto.Marshal(newDef)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: encoding the inlined graph: %w", err)
	}
	var opts tf.GraphImportOptions
	for t := range in.external {
		name, idx := splitTensorName(t)
		op := m.Graph.Operation(name)
		if op == nil {
			return nil, fmt.Errorf("tfgraph: inlined graph reads %q, which is not in the graph of %s", t, m.Dir)
		}
		opts.AddInputMapping(name, idx, op.Output(idx))
	}
	if err := m.Graph.ImportWithOptions(raw, opts); err != nil {
		return nil, fmt.Errorf("tfgraph: importing the inlined forward pass of %s: %w", m.Dir, err)
	}
	name, idx := splitTensorName(outName)
	input := m.Input.Output
	if in.sizedInput != "" {
		// The input at its fixed size: feeding it, differentiating to it
		// and replacing it in copies all work as with the placeholder,
		// and its static shape is [N,H,W,C].
		sized, _ := splitTensorName(in.sizedInput)
		input = m.Graph.Operation(sized).Output(0)
	}
	if m.InputKind == InputUint8 {
		if in.pixels == "" {
			return nil, fmt.Errorf("tfgraph: %s never casts its uint8 input %s to float, so tfcam has no float image to feed and differentiate: %w", m.Dir, describeTensor(m.Input), ErrUnsupportedInput)
		}
		px, _ := splitTensorName(in.pixels)
		input = m.Graph.Operation(px).Output(0)
	}
	f := &Forward{
		model: m, Input: input, Output: m.Graph.Operation(name).Output(idx),
		Rewrites: in.rewrites, nodes: in.out, index: map[string]int{},
	}
	for i, n := range in.out {
		f.index[n.GetName()] = i
	}
	if err := f.findLayers(); err != nil {
		return nil, err
	}
	if m.InputKind == InputEncoded {
		if err := f.cutEncoded(); err != nil {
			return nil, err
		}
	}
	m.forward = f
	return f, nil
}

// claim reserves a unique node name.
func (in *inliner) claim(name string) string {
	if !in.used[name] {
		in.used[name] = true
		return name
	}
	for i := 1; ; i++ {
		alt := name + "_tfcam" + strconv.Itoa(i)
		if !in.used[alt] {
			in.used[alt] = true
			return alt
		}
	}
}

// topTensor returns the new name of top-level tensor node:idx, copying the
// node (and what it depends on) first.
func (in *inliner) topTensor(name string, idx int) (string, error) {
	outs, err := in.topNode(name)
	if err != nil {
		return "", err
	}
	if outs == nil { // external
		t := name + ":" + strconv.Itoa(idx)
		in.external[t] = true
		if in.sized != nil && t == in.input {
			return in.sizedInputTensor(t), nil
		}
		return t, nil
	}
	if idx >= len(outs) {
		return "", fmt.Errorf("node %q has no output %d", name, idx)
	}
	return outs[idx], nil
}

// sizedInputScope holds the nodes that give an open-size input its size;
// they are not a layer.
const sizedInputScope = InlinePrefix + "tfcam_input_size/"

// sizedInputTensor adds (once) the Reshape of the input to in.sized and
// returns its output.
func (in *inliner) sizedInputTensor(input string) string {
	if in.sizedInput != "" {
		return in.sizedInput
	}
	shapeName := in.claim(sizedInputScope + "shape")
	name := in.claim(sizedInputScope + "reshape")
	value := &tensorpb.TensorProto{
		Dtype:       typespb.DataType_DT_INT32,
		TensorShape: &shapepb.TensorShapeProto{Dim: []*shapepb.TensorShapeProto_Dim{{Size: int64(len(in.sized))}}},
		IntVal:      in.sized,
	}
	in.out = append(in.out,
		&nodepb.NodeDef{Name: shapeName, Op: "Const", Attr: map[string]*attrpb.AttrValue{
			"dtype": {Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_INT32}},
			"value": {Value: &attrpb.AttrValue_Tensor{Tensor: value}},
		}},
		&nodepb.NodeDef{Name: name, Op: "Reshape", Input: []string{input, shapeName + ":0"}, Attr: map[string]*attrpb.AttrValue{
			"T":      {Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_FLOAT}},
			"Tshape": {Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_INT32}},
		}})
	in.sizedInput = name + ":0"
	return in.sizedInput
}

// topNode copies a top-level node; nil outputs mean it stays external.
func (in *inliner) topNode(name string) ([]string, error) {
	if outs, ok := in.topDone[name]; ok {
		return outs, nil
	}
	n := in.top[name]
	if n == nil {
		return nil, fmt.Errorf("unknown node %q", name)
	}
	if externalOps[n.GetOp()] {
		in.topDone[name] = nil
		return nil, nil
	}
	var data []string
	var ctrl []string
	for _, s := range n.GetInput() {
		if strings.HasPrefix(s, "^") {
			c, err := in.topNode(s[1:])
			if err != nil {
				return nil, err
			}
			if c != nil {
				ctrl = append(ctrl, in.topCtrl[s[1:]]...)
			}
			continue
		}
		src, idx := splitTensorName(s)
		t, err := in.topTensor(src, idx)
		if err != nil {
			return nil, err
		}
		data = append(data, t)
	}
	outs, ctrlNodes, err := in.node(n, InlinePrefix, data, ctrl, nil)
	if err != nil {
		return nil, err
	}
	in.topDone[name] = outs
	in.topCtrl[name] = ctrlNodes
	return outs, nil
}

// node emits one node (or inlines one call) whose data inputs are already
// resolved to new tensor names. It returns the new tensors for each flat
// output and the nodes a control dependency on it becomes.
func (in *inliner) node(n *nodepb.NodeDef, prefix string, data, ctrl []string, fnAttrs map[string]*attrpb.AttrValue) ([]string, []string, error) {
	op := n.GetOp()
	if f := in.calledFunction(n); f != nil {
		outs, err := in.function(f, data, prefix, n.GetName())
		if err != nil {
			return nil, nil, err
		}
		return outs, producers(outs), nil
	}
	if in.uint8 != "" {
		if outs, done, err := in.uint8Consumer(n, prefix, data); done || err != nil {
			return outs, producers(outs), err
		}
	}
	switch op {
	case "IdentityN":
		// IdentityN carries tf.custom_gradient functions (swish, ...); it has
		// no C++ gradient. Bypassing it leaves the forward ops it wraps,
		// whose gradient is the true one.
		in.rewrites["IdentityN→bypass"]++
		return data, producers(data), nil
	}
	nd := proto.Clone(n).(*nodepb.NodeDef)
	nd.Name = in.claim(prefix + n.GetName())
	nd.Device = ""
	nd.Input = append(append([]string{}, data...), prefixAll("^", ctrl)...)
	delete(nd.Attr, "_class") // colocation with nodes under their old names
	for k, v := range nd.Attr {
		if ph := v.GetPlaceholder(); ph != "" {
			sub, ok := fnAttrs[ph]
			if !ok {
				return nil, nil, fmt.Errorf("node %q: function attribute %q is not bound", n.GetName(), ph)
			}
			nd.Attr[k] = sub
		}
	}
	switch op {
	case "FusedBatchNorm", "FusedBatchNormV2":
		// No C++ gradient for v1/v2; V3 computes the same with one more
		// (reserve) output, so every existing output index stays valid.
		in.rewrites[op+"→FusedBatchNormV3"]++
		nd.Op = "FusedBatchNormV3"
		if _, ok := nd.Attr["U"]; !ok {
			nd.Attr["U"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: nd.Attr["T"].GetType()}}
		}
	}
	in.out = append(in.out, nd)
	count, err := in.numOutputs(nd)
	if err != nil {
		return nil, nil, err
	}
	outs := make([]string, count)
	for i := range outs {
		outs[i] = nd.Name + ":" + strconv.Itoa(i)
	}
	return outs, []string{nd.Name}, nil
}

func producers(tensors []string) []string {
	seen := map[string]bool{}
	var names []string
	for _, t := range tensors {
		name, _ := splitTensorName(t)
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names
}

func prefixAll(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

func (in *inliner) calledFunction(n *nodepb.NodeDef) *fnpb.FunctionDef {
	if callOps[n.GetOp()] {
		return in.funcs[n.GetAttr()["f"].GetFunc().GetName()]
	}
	return in.funcs[n.GetOp()]
}

// numOutputs counts a node's flat outputs from its OpDef and attributes.
func (in *inliner) numOutputs(n *nodepb.NodeDef) (int, error) {
	ranges, err := in.outputRanges(n.GetOp(), n.GetAttr())
	if err != nil {
		return 0, fmt.Errorf("node %q: %w", n.GetName(), err)
	}
	total := 0
	for _, r := range ranges {
		total += r.n
	}
	return total, nil
}

type argRange struct {
	name     string
	start, n int
}

// outputRanges maps an op's output args to flat index ranges: list outputs
// expand by their number or type-list attribute.
func (in *inliner) outputRanges(op string, attrs map[string]*attrpb.AttrValue) ([]argRange, error) {
	def := in.ops[op]
	if def == nil {
		return nil, fmt.Errorf("op %q is not registered in this TensorFlow (a custom op? load its library first)", op)
	}
	attr := func(name string) *attrpb.AttrValue {
		if v, ok := attrs[name]; ok {
			return v
		}
		for _, a := range def.GetAttr() {
			if a.GetName() == name {
				return a.GetDefaultValue()
			}
		}
		return nil
	}
	var ranges []argRange
	start := 0
	for _, arg := range def.GetOutputArg() {
		n := 1
		switch {
		case arg.GetNumberAttr() != "":
			n = int(attr(arg.GetNumberAttr()).GetI())
		case arg.GetTypeListAttr() != "":
			n = len(attr(arg.GetTypeListAttr()).GetList().GetType())
		}
		ranges = append(ranges, argRange{arg.GetName(), start, n})
		start += n
	}
	return ranges, nil
}

// function inlines one function body with its arguments bound to args and
// returns the new tensors of its outputs, in signature order.
func (in *inliner) function(f *fnpb.FunctionDef, args []string, parentPrefix, callName string) ([]string, error) {
	in.depth++
	defer func() { in.depth-- }()
	if in.depth > 64 {
		return nil, fmt.Errorf("function %q: calls nested deeper than 64 (recursive function?)", f.GetSignature().GetName())
	}
	sig := f.GetSignature()
	if len(args) != len(sig.GetInputArg()) {
		return nil, fmt.Errorf("function %q takes %d inputs, call %q passes %d", sig.GetName(), len(sig.GetInputArg()), callName, len(args))
	}
	argMap := map[string]string{}
	for i, a := range sig.GetInputArg() {
		argMap[a.GetName()] = args[i]
	}
	// Keep the body's own names where they are free (they carry the Keras
	// layer scopes users know); nest under the call's name otherwise.
	prefix := parentPrefix
	for _, n := range f.GetNodeDef() {
		if in.used[prefix+n.GetName()] {
			prefix = parentPrefix + callName + "/"
			break
		}
	}
	order, err := bodyOrder(f)
	if err != nil {
		return nil, err
	}
	outs := map[string][]string{}  // body node → flat new tensors
	ctrls := map[string][]string{} // body node → nodes for control edges
	ranges := map[string][]argRange{}
	resolve := func(ref string) (string, error) {
		parts := strings.Split(ref, ":")
		if len(parts) == 1 {
			if t, ok := argMap[ref]; ok {
				return t, nil
			}
			return "", fmt.Errorf("function %q: unknown input %q", sig.GetName(), ref)
		}
		if len(parts) != 3 {
			return "", fmt.Errorf("function %q: bad input reference %q", sig.GetName(), ref)
		}
		node, arg := parts[0], parts[1]
		k, err := strconv.Atoi(parts[2])
		if err != nil {
			return "", fmt.Errorf("function %q: bad input reference %q", sig.GetName(), ref)
		}
		for _, r := range ranges[node] {
			if r.name == arg {
				if k >= r.n {
					break
				}
				return outs[node][r.start+k], nil
			}
		}
		return "", fmt.Errorf("function %q: input %q names no output", sig.GetName(), ref)
	}
	for _, n := range order {
		var data, ctrl []string
		for _, s := range n.GetInput() {
			if strings.HasPrefix(s, "^") {
				ctrl = append(ctrl, ctrls[s[1:]]...)
				continue
			}
			t, err := resolve(s)
			if err != nil {
				return nil, err
			}
			data = append(data, t)
		}
		o, c, err := in.node(n, prefix, data, ctrl, f.GetAttr())
		if err != nil {
			return nil, fmt.Errorf("function %q: %w", sig.GetName(), err)
		}
		outs[n.GetName()], ctrls[n.GetName()] = o, c
		if sub := in.calledFunction(n); sub != nil {
			ranges[n.GetName()] = functionOutputRanges(n, sub)
		} else if n.GetOp() == "IdentityN" {
			ranges[n.GetName()] = []argRange{{"output", 0, len(o)}}
		} else if ranges[n.GetName()], err = in.outputRanges(n.GetOp(), n.GetAttr()); err != nil {
			return nil, fmt.Errorf("function %q: node %q: %w", sig.GetName(), n.GetName(), err)
		}
	}
	var results []string
	for _, a := range sig.GetOutputArg() {
		ref, ok := f.GetRet()[a.GetName()]
		if !ok {
			return nil, fmt.Errorf("function %q: output %q has no return value", sig.GetName(), a.GetName())
		}
		t, err := resolve(ref)
		if err != nil {
			return nil, err
		}
		results = append(results, t)
	}
	return results, nil
}

// functionOutputRanges names a call's outputs: "output" (a list) for the
// *PartitionedCall ops, the function's own output args for a direct call.
func functionOutputRanges(n *nodepb.NodeDef, f *fnpb.FunctionDef) []argRange {
	outs := f.GetSignature().GetOutputArg()
	if callOps[n.GetOp()] {
		return []argRange{{"output", 0, len(outs)}}
	}
	ranges := make([]argRange, len(outs))
	for i, a := range outs {
		ranges[i] = argRange{a.GetName(), i, 1}
	}
	return ranges
}

// bodyOrder sorts a function body topologically (inputs before users).
func bodyOrder(f *fnpb.FunctionDef) ([]*nodepb.NodeDef, error) {
	byName := map[string]*nodepb.NodeDef{}
	for _, n := range f.GetNodeDef() {
		byName[n.GetName()] = n
	}
	state := map[string]int{} // 1 visiting, 2 done
	var order []*nodepb.NodeDef
	var visit func(n *nodepb.NodeDef) error
	visit = func(n *nodepb.NodeDef) error {
		switch state[n.GetName()] {
		case 1:
			return fmt.Errorf("function %q: cycle at node %q", f.GetSignature().GetName(), n.GetName())
		case 2:
			return nil
		}
		state[n.GetName()] = 1
		for _, s := range n.GetInput() {
			src := strings.SplitN(strings.TrimPrefix(s, "^"), ":", 2)[0]
			if dep := byName[src]; dep != nil {
				if err := visit(dep); err != nil {
					return err
				}
			}
		}
		state[n.GetName()] = 2
		order = append(order, n)
		return nil
	}
	for _, n := range f.GetNodeDef() {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// pixelsScope holds the float32 placeholder that stands in for a uint8
// image input; it is not a layer.
const pixelsScope = InlinePrefix + "tfcam_input_pixels/"

// uint8Consumer handles a node reading the uint8 image input: a Cast to
// float reads the float32 pixels instead (a cast to float32 is the pixels
// themselves), Identity passes the input on, shape queries read the
// pixels' shape. Any other use is refused: tfcam would have to feed uint8
// values there, and no gradient flows through integers. done reports that
// the node was handled (its outputs are outs).
func (in *inliner) uint8Consumer(n *nodepb.NodeDef, prefix string, data []string) (outs []string, done bool, err error) {
	reads := false
	for _, d := range data {
		reads = reads || in.uint8Aliases[d]
	}
	if !reads {
		return nil, false, nil
	}
	switch n.GetOp() {
	case "Identity", "Snapshot":
		outs = []string{data[0]}
		in.uint8Aliases[outs[0]] = true
		return outs, true, nil
	case "Cast":
		if to := n.GetAttr()["DstT"].GetType(); to == typespb.DataType_DT_FLOAT {
			in.rewrites["uint8 input Cast→float32 pixels"]++
			return []string{in.pixelsTensor()}, true, nil
		} else if to != typespb.DataType_DT_HALF && to != typespb.DataType_DT_BFLOAT16 && to != typespb.DataType_DT_DOUBLE {
			break
		}
		// A cast to another float type: the same cast from the pixels.
		in.rewrites["uint8 input Cast→float32 pixels"]++
		return in.onPixels(n, prefix, "SrcT"), true, nil
	case "Shape", "Size", "Rank":
		return in.onPixels(n, prefix, "T"), true, nil
	}
	return nil, true, fmt.Errorf("the uint8 image input %s is read by op %s (node %q), not by a cast to float; "+
		"tfcam feeds float32 pixels to the cast and cannot feed or differentiate uint8 values elsewhere. "+
		"Export a signature that casts the uint8 input first (e.g. keras.Input(dtype=\"uint8\") then a Rescaling or Cast layer), or one taking float32 images: %w",
		in.uint8, n.GetOp(), n.GetName(), ErrUnsupportedInput)
}

// onPixels emits a copy of n reading the float32 pixels, with its dtype
// attribute typeAttr set to float32, and returns its output.
func (in *inliner) onPixels(n *nodepb.NodeDef, prefix, typeAttr string) []string {
	nd := proto.Clone(n).(*nodepb.NodeDef)
	nd.Name = in.claim(prefix + n.GetName())
	nd.Device = ""
	nd.Input = []string{in.pixelsTensor()}
	nd.Attr[typeAttr] = &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_FLOAT}}
	in.out = append(in.out, nd)
	return []string{nd.Name + ":0"}
}

// pixelsTensor adds (once) the float32 placeholder for the uint8 input.
func (in *inliner) pixelsTensor() string {
	if in.pixels != "" {
		return in.pixels
	}
	name := in.claim(pixelsScope + "pixels")
	shape := &shapepb.TensorShapeProto{}
	for _, d := range in.uint8Shape {
		shape.Dim = append(shape.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
	}
	in.out = append(in.out, &nodepb.NodeDef{Name: name, Op: "Placeholder", Attr: map[string]*attrpb.AttrValue{
		"dtype": {Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_FLOAT}},
		"shape": {Value: &attrpb.AttrValue_Shape{Shape: shape}},
	}})
	in.pixels = name + ":0"
	return in.pixels
}
