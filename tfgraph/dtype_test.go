package tfgraph

import (
	"context"
	"errors"
	"strings"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/internal/fixture"
)

func TestDTypeName(t *testing.T) {
	cases := []struct {
		dt   tf.DataType
		want string
	}{
		{tf.Float, "float32"}, {tf.Half, "float16"}, {tf.Bfloat16, "bfloat16"}, {tf.Double, "float64"},
		{tf.Uint8, "uint8"}, {tf.String, "string"}, {tf.Int32, "int32"}, {tf.DataType(999), "dtype 999"},
	}
	for _, c := range cases {
		if got := DTypeName(c.dt); got != c.want {
			t.Errorf("DTypeName(%d) = %q, want %q", int(c.dt), got, c.want)
		}
	}
}

// TestSignatureChoiceErrors: signatures tfcam cannot use as they are are
// refused with every candidate listed, dtypes by name, and typed errors.
func TestSignatureChoiceErrors(t *testing.T) {
	two := fixture.Load(t, "two_outputs").ModelDir
	resnet := fixture.Load(t, "resnet").ModelDir
	str := fixture.Load(t, "string_input").ModelDir
	cases := []struct {
		name   string
		dir    string
		opts   LoadOptions
		is     error // errors.Is target (nil: an *OutputChoiceError)
		want   []string
		reject []string // must not appear (dtype numbers)
	}{
		{"two outputs, none chosen", two, LoadOptions{}, nil,
			[]string{`"output_0" float32 [-1 7]`, `"output_1" float32 [-1 12]`, "2 outputs could be class scores", "LoadOptions.Output"}, []string{" 1 [-1"}},
		{"unknown output", two, LoadOptions{Output: "logits"}, nil,
			[]string{`no output "logits"`, `"output_0" float32 [-1 7]`}, nil},
		{"unknown input", resnet, LoadOptions{Input: "pixels"}, ErrInputChoice,
			[]string{`no input "pixels"`, `"images" float32 [-1 32 32 3]`}, nil},
		{"uint8 input read by a shift", fixture.Bad(t, "bad_uint8_shift"), LoadOptions{}, ErrUnsupportedInput,
			[]string{"uint8 image input", "RightShift", "not by a cast to float", "Rescaling"}, []string{" 4 ["}},
		{"cut that is not an image batch", str, LoadOptions{InputTensor: "gap"}, ErrUnsupportedInput,
			[]string{`input tensor "gap"`, "float32 [-1 16]", "not 4-D"}, nil},
		{"cut off the path", str, LoadOptions{InputTensor: "map/TensorArrayV2Stack/TensorListStack/element_shape"}, nil,
			[]string{"not on the path"}, nil},
		{"cut that a skip goes around", str, LoadOptions{InputTensor: "conv1"}, ErrUnsupportedInput,
			[]string{`input tensor "conv1"`, "not on every path", `"image_bytes" string [-1]`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load(c.dir, c.opts)
			if err == nil {
				// Predict runs such a model's own signature; the forward
				// pass, which explanations need, must refuse it.
				_, err = m.Inline()
				m.Close()
			}
			if err == nil {
				t.Fatalf("loaded and inlined; want an error mentioning %q", c.want)
			}
			var choice *OutputChoiceError
			if c.is == nil && !errors.As(err, &choice) && !strings.Contains(c.name, "off the path") {
				t.Errorf("error %v is not an *OutputChoiceError", err)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v does not wrap %v", err, c.is)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, r := range c.reject {
				if strings.Contains(err.Error(), r) {
					t.Errorf("error %q contains %q", err, r)
				}
			}
		})
	}
}

// TestEncodedInputCut: for a signature taking JPEG bytes, tfcam feeds the
// model's decoded batch, found automatically (the output of the decoding
// map_fn) or named; fed there, the fixture's decoded images give Python's
// probabilities.
func TestEncodedInputCut(t *testing.T) {
	f := fixture.Load(t, "string_input")
	in := f.Array(t, "inputs")
	probs := f.Array(t, "probs")
	rescaled := make([]float32, len(in.F32))
	for i, v := range in.F32 {
		rescaled[i] = v/127.5 - 1
	}
	cases := []struct {
		tensor   string
		wantNode string
		feed     []float32
	}{
		{"", "map/TensorArrayV2Stack/TensorListStack", in.F32},
		{"rescale", "rescale", rescaled},
	}
	for _, c := range cases {
		t.Run("tensor="+c.tensor, func(t *testing.T) {
			m, err := Load(f.ModelDir, LoadOptions{InputTensor: c.tensor})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.InputKind != InputEncoded || m.Encoded.DType != tf.String || m.Encoded.Key != "image_bytes" {
				t.Errorf("kind %v, encoded input %q %s; want InputEncoded, \"image_bytes\" string", m.InputKind, m.Encoded.Key, DTypeName(m.Encoded.DType))
			}
			if name := m.Input.Output.Op.Name(); !strings.HasSuffix(name, c.wantNode) {
				t.Errorf("cut at %s, want …%s", name, c.wantNode)
			}
			if h, w, ch := m.InputSize(); h != 32 || w != 32 || ch != 3 {
				t.Errorf("input size %dx%dx%d, want 32x32x3", h, w, ch)
			}
			got, _, err := m.Predict(context.Background(), c.feed, in.Shape[0])
			if err != nil {
				t.Fatal(err)
			}
			if d := fixture.MaxAbsDiff(got, probs.F32); d > 1e-5 {
				t.Errorf("max |go - python| = %g > 1e-5", d)
			}
		})
	}
}

// TestRoundPixels: a uint8 model is fed what a uint8 tensor can hold, so
// the forward pass equals the uint8 model's; other models get the batch
// as it is.
func TestRoundPixels(t *testing.T) {
	in := []float32{-3, 0.4, 0.5, 1.5, 127.49, 254.6, 300}
	cases := []struct {
		kind InputKind
		want []float32
	}{
		{InputUint8, []float32{0, 0, 0, 2, 127, 255, 255}},
		{InputFloat32, in},
		{InputEncoded, in},
	}
	for _, c := range cases {
		got := (&Model{InputKind: c.kind}).RoundPixels(in)
		if d := fixture.MaxAbsDiff(got, c.want); d != 0 {
			t.Errorf("kind %d: RoundPixels(%v) = %v, want %v", c.kind, in, got, c.want)
		}
	}
}
