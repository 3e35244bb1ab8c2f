package tfgraph

import (
	"errors"
	"fmt"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	"github.com/wamuir/graft/tensorflow/op"
	"google.golang.org/protobuf/proto"

	"github.com/tfcam/tfcam/internal/graphops"
)

// ScoreKind says which per-class value is explained.
type ScoreKind int

const (
	// Logits explains the pre-activation class score: the input of a final
	// Softmax or Sigmoid (tf-keras-vis's softmax→linear modifier). Models
	// without such a head are explained on their output as it is.
	Logits ScoreKind = iota
	// Probabilities explains the model's output itself.
	Probabilities
)

// ErrNoGradient is wrapped by the error of a gradient that passes an op
// without a gradient function (in TensorFlow's C++ registry, or a
// rewrite in tfcam).
var ErrNoGradient = errors.New("no gradient for an op")

// Score is the class score of each image, selected by a target class fed at
// run time, summed over the batch so that one gradient call gives every
// image's own gradient (images do not interact in inference mode).
type Score struct {
	// Targets is an int32 [N] placeholder: the class to explain per image.
	Targets tf.Output
	// Scores is [N, classes]: logits or probabilities, as asked, in float32.
	Scores tf.Output
	// Selected is [N]: each image's score for its target class.
	Selected tf.Output
	// Sum is the scalar Σ_i Scores[i, Targets[i]].
	Sum tf.Output
	// Classes is the number of classes.
	Classes int
}

// Logits returns the pre-activation scores: the input of the output's final
// Softmax/Sigmoid (through Identity ops), or the output when there is none.
func (f *Forward) Logits() (tf.Output, string) {
	out := f.Output
	for {
		switch out.Op.Type() {
		case "Identity", "Snapshot", "StopGradient":
			out = f.input0(out.Op)
			continue
		case "Softmax", "Sigmoid":
			return f.input0(out.Op), out.Op.Type()
		}
		return out, ""
	}
}

// input0 is the tensor feeding an inlined op's first input (graft's
// Operation does not expose inputs; the inlined GraphDef has them).
func (f *Forward) input0(o *tf.Operation) tf.Output {
	n := f.nodes[f.index[o.Name()]]
	name, idx := splitTensorName(n.GetInput()[0])
	return f.model.Graph.Operation(name).Output(idx)
}

// newScope returns a fresh uniquely named scope for ops tfgraph appends.
func (f *Forward) newScope(kind string) *op.Scope {
	f.scopes++
	return op.NewScopeWithGraph(f.model.Graph).SubScope(fmt.Sprintf("tfcam_%s_%d", kind, f.scopes))
}

// Scores returns the per-class scores [N, classes] of kind and the class count.
func (f *Forward) Scores(kind ScoreKind) (tf.Output, int, error) {
	scores := f.Output
	if kind == Logits {
		scores, _ = f.Logits()
	}
	shape, err := scores.Shape().ToSlice()
	if err != nil || len(shape) != 2 || shape[1] <= 0 {
		return tf.Output{}, 0, fmt.Errorf("tfgraph: the class scores of %s have shape %v; need [N, classes]", f.model.Dir, scores.Shape())
	}
	return scores, int(shape[1]), nil
}

// ClassScore appends the per-image target selection for kind, with the
// target classes fed through an int32 [N] placeholder.
func (f *Forward) ClassScore(kind ScoreKind) (*Score, error) {
	scores, classes, err := f.Scores(kind)
	if err != nil {
		return nil, err
	}
	s := f.newScope("targets")
	targets := op.Placeholder(s, tf.Int32, op.PlaceholderShape(tf.MakeShape(-1)))
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("tfgraph: building the class score: %w", err)
	}
	return f.SelectScore(scores, targets, classes), nil
}

// SelectScore appends Σ_i scores[i, targets[i]] for int32 targets [N].
// Graph errors surface from the gradient call that uses it.
//
// Half-precision scores (mixed-precision models) are cast to float32
// first: the class score and everything computed from it is float32, while
// the gradients flow back through the cast into the model's own dtype.
func (f *Forward) SelectScore(scores, targets tf.Output, classes int) *Score {
	s := f.newScope("score")
	if scores.Op != nil && scores.DataType() != tf.Float {
		scores = op.Cast(s.SubScope("float32"), scores, tf.Float)
	}
	selected := graphops.New(s.SubScope("selected")).Pick(scores, targets, classes)
	tot := s.SubScope("sum")
	sum := op.Sum(tot, selected, op.Const(tot, []int32{0}))
	return &Score{Targets: targets, Scores: scores, Selected: selected, Sum: sum, Classes: classes}
}

// Gradients adds d score.Sum / d x for each x (a layer output or the input)
// and returns them in order.
func (f *Forward) Gradients(score *Score, xs ...tf.Output) ([]tf.Output, error) {
	if err := score.check(f); err != nil {
		return nil, err
	}
	f.scopes++
	prefix := fmt.Sprintf("tfcam_grad_%d", f.scopes)
	grads, err := f.model.Graph.AddGradients(prefix, []tf.Output{score.Sum}, xs, nil)
	if err != nil {
		return nil, f.gradientError(err)
	}
	return grads, nil
}

func (f *Forward) gradientError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "No gradient defined for op: "); i >= 0 {
		opType := strings.Fields(msg[i+len("No gradient defined for op: "):])[0]
		return fmt.Errorf("tfgraph: %s uses op %s, which has no gradient in TensorFlow's C++ registry and no rewrite in tfcam yet; please report it with the model (%w: %w)", f.model.Dir, opType, ErrNoGradient, err)
	}
	return fmt.Errorf("tfgraph: adding gradients to %s: %w", f.model.Dir, err)
}

// GuidedGradients adds guided-backpropagation gradients of score.Sum to xs
// (Springenberg et al.): through every Relu and Relu6 the backward pass also
// drops negative incoming gradients.
//
// The C API cannot override a gradient function, so the ordinary gradient
// subgraph is built first, then copied under a new prefix with each
// ReluGrad/Relu6Grad fed Relu(dy) instead of dy; the copy reads the same
// forward tensors. The unguided original is left unused.
func (f *Forward) GuidedGradients(score *Score, xs ...tf.Output) ([]tf.Output, error) {
	if err := score.check(f); err != nil {
		return nil, err
	}
	f.scopes++
	raw := fmt.Sprintf("tfcam_graw_%d", f.scopes)
	guided := fmt.Sprintf("tfcam_guided_%d", f.scopes)
	grads, err := f.model.Graph.AddGradients(raw, []tf.Output{score.Sum}, xs, nil)
	if err != nil {
		return nil, f.gradientError(err)
	}
	relus := 0
	out, err := f.copyGradients(raw, guided, grads, func(nd *nodepb.NodeDef) []*nodepb.NodeDef {
		if (nd.GetOp() != "ReluGrad" && nd.GetOp() != "Relu6Grad") || len(nd.Input) < 2 {
			return []*nodepb.NodeDef{nd}
		}
		relus++
		dy := &nodepb.NodeDef{Name: nd.Name + "/guided_dy", Op: "Relu", Input: []string{nd.Input[0]}, Attr: map[string]*attrpb.AttrValue{"T": nd.GetAttr()["T"]}}
		nd.Input[0] = dy.Name + ":0"
		return []*nodepb.NodeDef{dy, nd}
	})
	if err != nil {
		return nil, err
	}
	f.GuidedReLUs = relus
	return out, nil
}

// copyGradients copies the gradient subgraph AddGradients built under
// prefix raw to prefix to, each node (renamed, its inputs renamed) passed
// through rewrite, which returns the nodes to add in its place (the one
// named as the node last); the copy reads the same forward tensors. It
// returns the copies of grads.
func (f *Forward) copyGradients(raw, to string, grads []tf.Output, rewrite func(nd *nodepb.NodeDef) []*nodepb.NodeDef) ([]tf.Output, error) {
	def, err := f.model.GraphDef()
	if err != nil {
		return nil, err
	}
	rename := func(name string) (string, bool) {
		if strings.HasPrefix(name, raw+"/") {
			return to + name[len(raw):], true
		}
		return name, false
	}
	var nodes []*nodepb.NodeDef
	var opts tf.GraphImportOptions
	for _, n := range def.GetNode() {
		newName, ok := rename(n.GetName())
		if !ok {
			continue
		}
		nd := proto.Clone(n).(*nodepb.NodeDef)
		nd.Name = newName
		delete(nd.Attr, "_class")
		var inputs []string
		for _, in := range n.GetInput() {
			ctrl := strings.HasPrefix(in, "^")
			src, idx := splitTensorName(strings.TrimPrefix(in, "^"))
			renamed, inside := rename(src)
			switch {
			case inside && ctrl:
				inputs = append(inputs, "^"+renamed)
			case inside:
				inputs = append(inputs, fmt.Sprintf("%s:%d", renamed, idx))
			case !ctrl:
				// A forward tensor: map it onto the existing one.
				opts.AddInputMapping(src, idx, f.model.Graph.Operation(src).Output(idx))
				inputs = append(inputs, fmt.Sprintf("%s:%d", src, idx))
			}
		}
		nd.Input = inputs
		nodes = append(nodes, rewrite(nd)...)
	}
	rawDef, err := proto.Marshal(&graphpb.GraphDef{Node: nodes, Versions: def.GetVersions()})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: encoding the copied gradient graph: %w", err)
	}
	if err := f.model.Graph.ImportWithOptions(rawDef, opts); err != nil {
		return nil, fmt.Errorf("tfgraph: importing the copied gradient graph of %s: %w", f.model.Dir, err)
	}
	out := make([]tf.Output, len(grads))
	for i, g := range grads {
		name, _ := rename(g.Op.Name())
		o := f.model.Graph.Operation(name)
		if o == nil {
			// The gradient is not computed under the prefix (e.g. x is y).
			out[i] = g
			continue
		}
		out[i] = o.Output(g.Index)
	}
	return out, nil
}

// GradientOf adds d y / d x for a scalar y built on the forward pass (or a
// copy of it).
func (f *Forward) GradientOf(y, x tf.Output) (tf.Output, error) {
	g, err := f.GradientsOf(y, x)
	if err != nil {
		return tf.Output{}, err
	}
	return g[0], nil
}

// GradientsOf adds d y / d x for each x in one backward pass, for a scalar
// y built on the forward pass (or a copy of it).
func (f *Forward) GradientsOf(y tf.Output, xs ...tf.Output) ([]tf.Output, error) {
	f.scopes++
	grads, err := f.model.Graph.AddGradients(fmt.Sprintf("tfcam_grad_%d", f.scopes), []tf.Output{y}, xs, nil)
	if err != nil {
		return nil, f.gradientError(err)
	}
	return grads, nil
}

// VectorJacobian adds Σ_j v_j · ∂y_j/∂x: the gradient of y with v (y's
// shape and dtype) as its incoming gradient. With y itself a gradient of x,
// it is a Hessian-vector product (the second gradient through the first).
// Where y does not depend on x (a gradient of a score linear in x) it is
// zeros.
func (f *Forward) VectorJacobian(y, x, v tf.Output) (tf.Output, error) {
	f.scopes++
	prefix := fmt.Sprintf("tfcam_vjp_%d", f.scopes)
	grads, err := f.model.Graph.AddGradients(prefix, []tf.Output{y}, []tf.Output{x}, []tf.Output{v})
	if err != nil {
		return tf.Output{}, f.gradientError(err)
	}
	if isNull(grads[0]) {
		return f.zerosLike(prefix, x)
	}
	return grads[0], nil
}

// check reports a class score whose ops failed to build (graft panics on
// their outputs): SelectScore defers its graph errors to here.
func (sc *Score) check(f *Forward) error {
	if sc.Sum.Op == nil || sc.Selected.Op == nil {
		return fmt.Errorf("tfgraph: building the class score on %s (scores %s) failed; please report it with the model", f.model.Dir, DTypeName(sc.Scores.DataType()))
	}
	return nil
}
