package tfgraph

import (
	"context"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
)

// TestPredictMatchesPython runs every fixture's input batch through the
// loaded signature and compares with the outputs Python saved (1e-5 abs).
func TestPredictMatchesPython(t *testing.T) {
	for _, name := range fixture.Names(t) {
		t.Run(name, func(t *testing.T) {
			f := fixture.Load(t, name)
			m, err := Load(f.ModelDir, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.SignatureKey != f.Meta.Signature {
				t.Errorf("signature %q, want %q", m.SignatureKey, f.Meta.Signature)
			}
			h, w, c := m.InputSize()
			if want := f.Meta.InputSize; h != want[0] || w != want[1] || c != want[2] {
				t.Errorf("input size %dx%dx%d, want %v", h, w, c, want)
			}
			in := f.Array(t, "inputs")
			want := f.Array(t, "probs")
			n := in.Shape[0]
			// The whole batch at once, then one image at a time.
			for _, bs := range []int{n, 1} {
				per := len(in.F32) / n
				var got []float32
				for i := 0; i < n; i += bs {
					out, classes, err := m.Predict(context.Background(), in.F32[i*per:(i+bs)*per], bs)
					if err != nil {
						t.Fatal(err)
					}
					if classes != f.Meta.Classes {
						t.Fatalf("%d classes, want %d", classes, f.Meta.Classes)
					}
					got = append(got, out...)
				}
				if d := fixture.MaxAbsDiff(got, want.F32); d > 1e-5 {
					t.Errorf("batch %d: max |go - python| = %g > 1e-5", bs, d)
				} else {
					t.Logf("batch %d: max |go - python| = %.2g", bs, d)
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	f := fixture.Load(t, "resnet")
	cases := []struct {
		name string
		dir  string
		opts LoadOptions
		want string
	}{
		{"missing dir", "/nonexistent/model", LoadOptions{}, "/nonexistent/model"},
		{"not a SavedModel", f.Dir, LoadOptions{}, "not a SavedModel directory"},
		{"bad tags", f.ModelDir, LoadOptions{Tags: []string{"train"}}, `tagged "train"`},
		{"bad signature", f.ModelDir, LoadOptions{Signature: "nope"}, `no signature "nope"`},
		{"bad device", f.ModelDir, LoadOptions{Device: "tpu"}, `unknown device "tpu"`},
		{"keras 3 tf.saved_model.save", fixture.Bad(t, "bad_keras_tfsave"), LoadOptions{}, "model.export("},
		{"no gpu", f.ModelDir, LoadOptions{Device: DeviceGPU}, "TensorFlow sees none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load(c.dir, c.opts)
			if err == nil {
				gpu := m.HasGPU()
				m.Close()
				if c.name == "no gpu" && gpu {
					return // a GPU machine: asking for the GPU must work, and did
				}
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestPredictBadBatch(t *testing.T) {
	f := fixture.Load(t, "resnet")
	m, err := Load(f.ModelDir, LoadOptions{Device: DeviceCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, _, err := m.Predict(context.Background(), make([]float32, 10), 1); err == nil || !strings.Contains(err.Error(), "not 1 images of 32x32x3") {
		t.Errorf("bad batch: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := m.Predict(ctx, make([]float32, 32*32*3), 1); err == nil {
		t.Error("cancelled context not reported")
	}
}
