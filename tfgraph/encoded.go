package tfgraph

import (
	"fmt"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// cutEncoded makes the forward pass of a model taking encoded images start
// at its decoded image batch: it finds that tensor (LoadOptions.InputTensor
// or the first float32 [N,H,W,C] with static H, W, C that every path from
// the string input to the output goes through), makes it Forward.Input and
// Model.Input, and lists the layers after it again.
func (f *Forward) cutEncoded() error {
	m := f.model
	cut, err := f.findCut(m.inputTensor)
	if err != nil {
		return err
	}
	shape, _ := cut.Shape().ToSlice()
	m.Encoded = m.Input
	m.Input = TensorInfo{Key: m.Encoded.Key, Output: cut, Shape: append([]int64{-1}, shape[1:]...), DType: tf.Float}
	f.Input = cut
	f.layers = nil
	if err := f.findLayers(); err != nil {
		return err
	}
	// Predict reads the forward pass, which the cut feeds, not the
	// signature's output, which only the string input feeds.
	m.scores32 = f.Output
	if f.Output.DataType() != tf.Float {
		s := op.NewScopeWithGraph(m.Graph).SubScope("tfcam_forward_scores_float32")
		m.scores32 = op.Cast(s, f.Output, tf.Float)
		if err := s.Err(); err != nil {
			return fmt.Errorf("tfgraph: casting the scores of %s to float32: %w", m.Dir, err)
		}
	}
	return nil
}

// findCut resolves LoadOptions.InputTensor, or detects the decoded batch.
func (f *Forward) findCut(name string) (tf.Output, error) {
	m := f.model
	if name != "" {
		l, err := f.Layer(name)
		if err != nil {
			return tf.Output{}, fmt.Errorf("tfgraph: input tensor %q of %s: %w", name, m.Dir, err)
		}
		if why := notImageBatch(l.Output); why != "" {
			return tf.Output{}, fmt.Errorf("tfgraph: input tensor %q of %s is %s %v: %s; name the decoded float32 image batch [N,H,W,C] (see `tfcam layers --all`): %w",
				name, m.Dir, DTypeName(l.Output.DataType()), l.Shape, why, ErrUnsupportedInput)
		}
		if !f.isCut(l.Output) {
			return tf.Output{}, fmt.Errorf("tfgraph: input tensor %q of %s is not on every path from input %s to the output; feeding it would leave part of the model reading the encoded images: %w",
				name, m.Dir, describeTensor(m.Input), ErrUnsupportedInput)
		}
		return l.Output, nil
	}
	for i, n := range f.nodes {
		if !f.onPath[i] {
			continue
		}
		o := m.Graph.Operation(n.GetName())
		for k := 0; k < o.NumOutputs(); k++ {
			if t := o.Output(k); notImageBatch(t) == "" && f.isCut(t) {
				return t, nil
			}
		}
	}
	return tf.Output{}, fmt.Errorf("tfgraph: input %s of %s takes encoded images, and tfcam found no decoded float32 image batch [N,H,W,C] with a static size between it and the output; "+
		"name it (LoadOptions.InputTensor; a node from `tfcam layers --all`), or export a signature that takes the decoded batch: %w", describeTensor(m.Input), m.Dir, ErrUnsupportedInput)
}

// notImageBatch says why t cannot be fed as an image batch ("" if it can).
func notImageBatch(t tf.Output) string {
	shape, err := t.Shape().ToSlice()
	switch {
	case t.DataType() != tf.Float:
		return "not float32"
	case err != nil || len(shape) != 4:
		return "not 4-D"
	case shape[1] <= 0 || shape[2] <= 0:
		return "its height and width are not static"
	case shape[3] != 1 && shape[3] != 3:
		return fmt.Sprintf("it has %d channels, not 1 or 3", shape[3])
	}
	return ""
}

// isCut reports that every path from the input to the output goes through
// t: walking up from the output, every node that depends on the input is
// reached only through nodes that depend on t.
func (f *Forward) isCut(t tf.Output) bool {
	cut := fmt.Sprintf("%s:%d", t.Op.Name(), t.Index)
	consumers := map[string][]int{}
	for i, n := range f.nodes {
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") {
				consumers[normTensor(in)] = append(consumers[normTensor(in)], i)
			}
		}
	}
	after := map[int]bool{} // nodes depending on t
	var down func(tensor string)
	down = func(tensor string) {
		for _, c := range consumers[tensor] {
			if after[c] {
				continue
			}
			after[c] = true
			o := f.model.Graph.Operation(f.nodes[c].GetName())
			for k := 0; k < o.NumOutputs(); k++ {
				down(fmt.Sprintf("%s:%d", f.nodes[c].GetName(), k))
			}
		}
	}
	down(cut)
	seen := map[int]bool{}
	var up func(i int) bool
	up = func(i int) bool {
		if seen[i] {
			return true
		}
		seen[i] = true
		if !after[i] {
			// Not after the cut: fine unless it depends on the input.
			return !f.onPath[i]
		}
		for _, in := range f.nodes[i].GetInput() {
			if strings.HasPrefix(in, "^") || normTensor(in) == cut {
				continue
			}
			src, _ := splitTensorName(in)
			if j, ok := f.index[src]; ok && !up(j) {
				return false
			}
		}
		return true
	}
	out, ok := f.index[f.Output.Op.Name()]
	return ok && after[out] && up(out)
}
