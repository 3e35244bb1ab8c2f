package tfgraph

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
)

// TestVariableLayers checks the grouping of weights into layers, top
// (output side) first, against the Keras models' own layer lists.
func TestVariableLayers(t *testing.T) {
	tests := []struct {
		fixture string
		// layers, top first; vars is the number of weights of the first
		// layer and of a BatchNormalization layer (0: none).
		layers []string
		first  int
		bn     string
	}{
		{"shapes", []string{"predictions", "last_conv", "conv3", "conv2", "conv1"}, 2, ""},
		{"mixed_float16", []string{"predictions", "last_conv", "conv1"}, 2, ""},
		{"resnet", nil, 2, "conv1_bn"},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			_, _, fw := loadInlined(t, tc.fixture)
			ls, err := fw.VariableLayers()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, l := range ls {
				names = append(names, l.Name)
			}
			if tc.layers != nil && !slices.Equal(names, tc.layers) {
				t.Errorf("layers %v, want %v", names, tc.layers)
			}
			if names[0] != "predictions" || names[len(names)-1] != "conv1" && names[len(names)-1] != "conv1_conv" {
				t.Errorf("layers %v: want predictions first and the first convolution last", names)
			}
			if got := len(ls[0].Variables); got != tc.first {
				t.Errorf("%s has %d variables, want %d", ls[0].Name, got, tc.first)
			}
			for _, l := range ls {
				for _, v := range l.Variables {
					if !strings.HasPrefix(v.Name, l.Name+"/") {
						t.Errorf("variable %s in layer %s", v.Name, l.Name)
					}
				}
				if l.Name == tc.bn && len(l.Variables) != 4 {
					t.Errorf("BatchNormalization %s has %d variables, want 4 (gamma, beta, moving mean and variance)", l.Name, len(l.Variables))
				}
			}
		})
	}
	_, _, fw := loadInlined(t, "tf1_flat")
	if _, err := fw.VariableLayers(); err != nil {
		t.Errorf("tf1_flat (resource variables in a TF1 graph): %v", err)
	}
}

// TestFedWeights replaces weights by feeding their reads and checks the
// forward pass and a Copy of it against the Keras model with the same
// weights assigned (scripts/reference_sanity.py): a copy that kept reading
// the session's variables would give the original output instead.
func TestFedWeights(t *testing.T) {
	f, m, fw := loadInlined(t, "shapes")
	in := f.Array(t, "inputs")
	ls, err := fw.VariableLayers()
	if err != nil {
		t.Fatal(err)
	}
	s := op.NewScopeWithGraph(m.Graph).SubScope("test_fed")
	cp, err := fw.Copy(map[tf.Output]tf.Output{fw.Input: op.Identity(s, fw.Input)})
	if err != nil {
		t.Fatal(err)
	}
	twin, err := cp.Twin(fw.Output)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, top := range []int{1, 5} {
		t.Run(fmt.Sprintf("top%d", top), func(t *testing.T) {
			work := t.TempDir()
			var reads []tf.Output
			for _, l := range ls[:top] {
				for _, v := range l.Variables {
					reads = append(reads, v.Reads[0])
				}
			}
			orig, err := m.Run(ctx, map[tf.Output]Feed{fw.Input: batchFeed(in)}, append([]tf.Output{fw.Output}, reads...))
			if err != nil {
				t.Fatal(err)
			}
			feeds := map[tf.Output]Feed{fw.Input: batchFeed(in)}
			var list strings.Builder
			k := 0
			for _, l := range ls[:top] {
				for _, v := range l.Variables {
					// Rotate the rows (axis 0) by one: every weight moves.
					val := orig[1+k]
					row := len(val) / int(v.Shape[0])
					rot := append(append([]float32(nil), val[row:]...), val[:row]...)
					shape := make([]int, len(v.Shape))
					for i, d := range v.Shape {
						shape[i] = int(d)
					}
					file := fmt.Sprintf("var%d.npy", k)
					if err := npy.WriteFloat32File(filepath.Join(work, file), rot, shape); err != nil {
						t.Fatal(err)
					}
					fmt.Fprintf(&list, "%s\t%s\n", v.Name, file)
					for _, r := range v.Reads {
						feeds[r] = Feed{F32: rot, Shape: v.Shape}
					}
					k++
				}
			}
			if err := os.WriteFile(filepath.Join(work, "vars.txt"), []byte(list.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := npy.WriteFloat32File(filepath.Join(work, "inputs.npy"), in.F32, in.Shape); err != nil {
				t.Fatal(err)
			}
			fixture.Python(t, "reference_sanity.py", f.Dir, work)
			want, err := npy.ReadFile(filepath.Join(work, "keras_output.npy"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Run(ctx, feeds, []tf.Output{fw.Output, twin})
			if err != nil {
				t.Fatal(err)
			}
			if d := fixture.MaxAbsDiff(got[0], want.F32); d > 1e-5 {
				t.Errorf("forward pass with fed weights differs from Keras by %g", d)
			}
			if d := fixture.MaxAbsDiff(got[1], want.F32); d > 1e-5 {
				t.Errorf("copy with fed weights differs from Keras by %g (does it read the session's variables?)", d)
			}
			if d := fixture.MaxAbsDiff(orig[0], want.F32); d < 1e-3 {
				t.Errorf("randomising %d layers changed the output by only %g: the test would not see unfed weights", top, d)
			}
		})
	}
}

// TestNoVariables checks the typed error for a graph without variables.
func TestNoVariables(t *testing.T) {
	fw := &Forward{model: &Model{Dir: "frozen"}}
	if _, err := fw.VariableLayers(); !errors.Is(err, ErrNoVariables) {
		t.Errorf("got %v, want ErrNoVariables", err)
	}
}
