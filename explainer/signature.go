package explainer

import (
	"context"

	tf "github.com/wamuir/graft/tensorflow"
)

// Signature names the graph tensors of one explanation — what Explain
// feeds and fetches for each image's top-1 class, or for fed classes —
// so that the graph can be written out as a SavedModel signature and
// run without Go (tfcam export). Fetching them on the same feeds gives
// Explain's numbers: everything Explain returns is computed in the graph.
type Signature struct {
	// Input is the image batch [N,H,W,C] as Explain feeds it: float32,
	// preprocessed as the model expects (a uint8 model's pixels as whole
	// numbers in float32).
	Input tf.Output
	// Classes is int32 [N], the classes to explain, fed or left to its
	// default: −1 for each image, its top-1 class.
	Classes tf.Output
	// Predictions are the top Config.Predictions scores [N,P] (the
	// model's outputs, or the objective's scores under a non-class
	// objective) and PredictedClasses their columns, int32 [N,P].
	Predictions, PredictedClasses tf.Output
	// Class is the explained class of each image, int32 [N] (Classes
	// with −1 resolved), and Score its explained score [N].
	Class, Score tf.Output
	// Methods are the methods that apply; Maps[i] is Methods[i]'s map
	// [N,H,W] at the input's resolution, normalised as Map.Normalized,
	// and Raw[i] the map before normalisation (Map.Raw).
	Methods []string
	Maps    []tf.Output
	Raw     []tf.Output
}

// Signature returns the tensors of the graph that explains one class per
// image (building it if New has not). The batch size N is open, but a
// run of more images than Explain puts in one graph run (it splits
// batches of methods with many copies, to keep every tensor within the
// tensor budget) allocates accordingly more.
func (e *Explainer) Signature(ctx context.Context) (Signature, error) {
	rs, err := e.ranks(ctx, 1)
	if err != nil {
		return Signature{}, err
	}
	s := Signature{Input: e.fw.Input, Classes: rs.classes, Predictions: e.predVals, PredictedClasses: e.predIdx,
		Class: rs.targets[0], Score: rs.selected[0], Maps: rs.norm[0], Raw: rs.raw[0]}
	for _, m := range e.methods {
		s.Methods = append(s.Methods, m.Name())
	}
	return s, nil
}
