package tfgraph

import (
	"context"
	"os"
	"path/filepath"
	"slices"
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
			m, err := Load(f.ModelDir, LoadOptions{InputSize: f.LoadSize(), Output: f.Meta.Output})
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
				if d := fixture.MaxAbsDiff(got, want.F32); d > f.Tolerance(1e-5) {
					t.Errorf("batch %d: max |go - python| = %g > %g", bs, d, f.Tolerance(1e-5))
				} else {
					t.Logf("batch %d: max |go - python| = %.2g", bs, d)
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	f := fixture.Load(t, "resnet")
	// saved_model.pb copied without its variables/ folder.
	novars := t.TempDir()
	pb, err := os.ReadFile(filepath.Join(f.ModelDir, "saved_model.pb"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(novars, "saved_model.pb"), pb, 0o644); err != nil {
		t.Fatal(err)
	}
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
		{"saved_model.pb without variables/", novars, LoadOptions{}, "copy the whole SavedModel folder"},
		{"other size for a fixed-size model", f.ModelDir, LoadOptions{InputSize: [2]int{48, 40}}, "takes images of height 32 and width 32, not height 48 and width 40 as asked"},
		{"negative size", fixture.Load(t, "open_size").ModelDir, LoadOptions{InputSize: [2]int{-1, 48}}, "both must be positive"},
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

// TestInputSize: a model that takes any size loads without one but cannot
// take a batch; with one it runs at that size (TestPredictMatchesPython and
// TestInlinedForwardMatchesPython check its numbers); a fixed-size model
// accepts its own size.
func TestInputSize(t *testing.T) {
	open := fixture.Load(t, "open_size")
	m, err := Load(open.ModelDir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, w, c := m.InputSize()
	if h != -1 || w != -1 || c != 3 {
		t.Errorf("open model: InputSize %d, %d, %d; want -1, -1, 3", h, w, c)
	}
	if _, _, err := m.Predict(context.Background(), make([]float32, 48*48*3), 1); err == nil || !strings.Contains(err.Error(), "open spatial size") {
		t.Errorf("open model without a size: %v", err)
	}
	m.Close()
	for _, size := range [][2]int{{48, 48}, {64, 40}} {
		m, err := Load(open.ModelDir, LoadOptions{InputSize: size})
		if err != nil {
			t.Fatal(err)
		}
		fw, err := m.Inline()
		if err != nil {
			t.Fatal(err)
		}
		l, err := fw.DefaultLayer()
		if err != nil {
			t.Fatal(err)
		}
		// conv2 runs after a 2x2 pooling: half the input's size, static.
		if want := []int64{-1, int64(size[0] / 2), int64(size[1] / 2), 32}; !slices.Equal(l.Shape, want) {
			t.Errorf("size %v: layer %s has shape %v, want %v", size, l.Name, l.Shape, want)
		}
		m.Close()
	}
	fixed := fixture.Load(t, "resnet")
	m, err = Load(fixed.ModelDir, LoadOptions{InputSize: [2]int{32, 32}})
	if err != nil {
		t.Fatalf("a fixed-size model given its own size: %v", err)
	}
	m.Close()
}
