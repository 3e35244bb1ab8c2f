package tfgraph

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"github.com/wamuir/graft/tensorflow/op"
)

// DTypeName is the name users know for a TensorFlow element type, as
// Python's tf.dtypes print it: "float32", "float16", "uint8", "string".
func DTypeName(dt tf.DataType) string {
	switch dt {
	case tf.Float:
		return "float32"
	case tf.Double:
		return "float64"
	case tf.Half:
		return "float16"
	}
	if name, ok := typespb.DataType_name[int32(dt)]; ok {
		return strings.ToLower(strings.TrimPrefix(name, "DT_"))
	}
	return fmt.Sprintf("dtype %d", int(dt))
}

// isFloatDType reports the floating-point types a layer or a class score
// may have: float32, and the half-precision types of mixed-precision models
// (keras mixed_float16, mixed_bfloat16), which tfcam casts to float32.
func isFloatDType(dt tf.DataType) bool {
	return dt == tf.Float || dt == tf.Half || dt == tf.Bfloat16
}

// describeTensor is `"key" dtype [shape]` for messages.
func describeTensor(t TensorInfo) string {
	return fmt.Sprintf("%q %s %v", t.Key, DTypeName(t.DType), t.Shape)
}

// InputKind says what a signature's image input takes and so how tfcam
// feeds it.
type InputKind int

const (
	// InputFloat32 is a float32 image batch [N,H,W,C], fed as it is.
	InputFloat32 InputKind = iota
	// InputUint8 is a uint8 image batch [N,H,W,C] (keras.Input(dtype=
	// "uint8"), TF-Serving-style signatures) that the model casts to
	// float. The inlined forward pass takes float32 pixel values 0..255
	// in place of that cast, so that input gradients exist; Predict and
	// the explainer round fed values to integers in 0..255 (RoundPixels),
	// so the forward pass computes exactly what the uint8 model does.
	InputUint8
	// InputEncoded is a string tensor of encoded images (JPEG, PNG) that
	// the model decodes itself. tfcam feeds its own decoded images to the
	// tensor where the model's decoded float32 batch [N,H,W,C] starts (the
	// cut, LoadOptions.InputTensor), which Model.Input then is.
	InputEncoded
)

// ErrUnsupportedInput is wrapped by errors about a signature input tfcam
// cannot feed (its dtype, rank, or consumers).
var ErrUnsupportedInput = errors.New("unsupported signature input")

// ErrInputChoice is wrapped (with ErrUnsupportedInput) when tfcam cannot
// tell which signature input is the image batch, or LoadOptions.Input
// names none: the caller should name it.
var ErrInputChoice = errors.New("choose the image input")

// OutputChoiceError says that a signature has no single class-score output
// tfcam can pick by itself, or that LoadOptions.Output names none: it
// lists every output, for the caller to choose one (LoadOptions.Output).
type OutputChoiceError struct {
	// Dir is the SavedModel directory and Signature the signature key.
	Dir, Signature string
	// Asked is LoadOptions.Output ("" when none was given).
	Asked string
	// Outputs are the signature's outputs, sorted by key.
	Outputs []TensorInfo
	// Why says what is wrong.
	Why string
}

// Error lists the outputs with their dtypes and shapes.
func (e *OutputChoiceError) Error() string {
	var outs []string
	for _, o := range e.Outputs {
		outs = append(outs, describeTensor(o))
	}
	return fmt.Sprintf("tfgraph: signature %q of %s: %s; its outputs are %s; choose the class-score output [N,classes] (float32, float16 or bfloat16) by its key (LoadOptions.Output)",
		e.Signature, e.Dir, e.Why, strings.Join(outs, ", "))
}

// RoundPixels returns the batch as the model's input takes it: for an
// InputUint8 model a copy rounded to integers and clamped to 0..255 (what a
// uint8 tensor can hold), else batch itself.
func (m *Model) RoundPixels(batch []float32) []float32 {
	if m.InputKind != InputUint8 {
		return batch
	}
	out := make([]float32, len(batch))
	for i, v := range batch {
		out[i] = float32(math.Min(255, math.Max(0, math.RoundToEven(float64(v)))))
	}
	return out
}

// castScores adds, for a half-precision output, its cast to float32, which
// Predict fetches. It is outside InlinePrefix: the forward pass does not
// copy it.
func (m *Model) castScores() error {
	m.scores32 = m.Output.Output
	if m.Output.DType == tf.Float {
		return nil
	}
	s := op.NewScopeWithGraph(m.Graph).SubScope("tfcam_scores_float32")
	cast := op.Cast(s, m.Output.Output, tf.Float)
	if err := s.Err(); err != nil {
		return fmt.Errorf("tfgraph: casting output %s of %s to float32: %w", describeTensor(m.Output), m.Dir, err)
	}
	m.scores32 = cast
	return nil
}

func (m *Model) scoresFloat32() tf.Output { return m.scores32 }

// newUint8 copies pixel values, already integers in 0..255, into a uint8
// tensor.
func newUint8(data []float32, shape ...int64) (*tf.Tensor, error) {
	raw := make([]byte, len(data))
	for i, v := range data {
		raw[i] = byte(v)
	}
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	if n != int64(len(data)) {
		return nil, fmt.Errorf("tfgraph: shape %v holds %d values, got %d", shape, n, len(data))
	}
	return tf.ReadTensor(tf.Uint8, shape, bytes.NewReader(raw))
}
