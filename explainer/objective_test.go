package explainer

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
	"github.com/tfcam/tfcam/tfgraph"
)

// loadOutput loads a fixture's model explaining the given signature output.
func loadOutput(t *testing.T, f *fixture.Fixture, output string) *tfgraph.Model {
	t.Helper()
	m, err := tfgraph.Load(f.ModelDir, tfgraph.LoadOptions{InputSize: f.LoadSize(), Output: output})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestObjectivesMatchPythonReference checks every objective on the
// multihead fixture against scripts/reference_targets.py (tf.GradientTape
// on the Keras model, pytorch-grad-cam's target definitions): the
// explained class, its score S, Grad-CAM at input and layer resolution and
// pytorch-grad-cam's Score-CAM (variant=softmax:upsample=corners, which
// scores the masked copies through the objective: the region mask must
// follow the copy-major rows), 1e-4
// max-abs on normalised maps as TestMethodsMatchPythonReference. The
// gradient reaches the layer through a max pool (seg) or global average
// pooling (reg, emb) only: no ReLU kink lies between, so no kink envelope.
func TestObjectivesMatchPythonReference(t *testing.T) {
	f := fixture.Load(t, "multihead")
	ref := t.TempDir()
	fixture.Reference(t, "reference_targets.py", ref, f.Dir)
	read := func(name string) *npy.Array {
		t.Helper()
		a, err := npy.ReadFile(filepath.Join(ref, name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	var cases struct {
		Contrast int `json:"contrast"`
	}
	raw, err := os.ReadFile(filepath.Join(ref, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	mask := read("mask")
	in := f.Array(t, "inputs")
	n := in.Shape[0]
	all := make([]int, n)
	for i := range all {
		all[i] = i % 3
	}
	for _, tc := range []struct {
		name, output string
		obj          Objective
		targets      Targets
	}{
		{"region", "output_0", Region(), Top1()},
		{"region-classes", "output_0", Region(), Classes(all...)},
		{"region-mask", "output_0", RegionMask(mask.F32, mask.Shape[0], mask.Shape[1]), Top1()},
		{"regression", "output_1", Regression(1), Top1()},
		{"regression-neg", "output_1", Regression(-1), Top1()},
		{"embedding", "output_2", Embedding(read("ref_emb").F32, ""), Top1()},
		{"embedding-gap", "output_2", Embedding(read("ref_gap").F32, "gap"), Top1()},
		{"contrast", "output_2", Contrast(cases.Contrast), Top1()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := loadOutput(t, f, tc.output)
			e, err := New(m, Config{Layer: "last_conv", Objective: tc.obj, Methods: []Method{GradCAM{}, ScoreCAM{Variant: "softmax", Upsample: "corners"}}, LowRes: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Explain(context.Background(), Batch{in.F32, n}, tc.targets)
			if err != nil {
				t.Fatal(err)
			}
			targets, scores := read(tc.name+"/targets"), read(tc.name+"/scores")
			var got [3][]float32
			var sel []float32
			for i, r := range res {
				mp := r.Maps[0]
				if mp[0].Class != int(targets.I32[i]) {
					t.Fatalf("image %d: explained class %d, reference %d", i, mp[0].Class, targets.I32[i])
				}
				sel = append(sel, mp[0].Score)
				got[0] = append(got[0], mp[0].Normalized...)
				got[1] = append(got[1], mp[0].LowRes...)
				got[2] = append(got[2], mp[1].Normalized...)
			}
			checkMap(t, "score S", sel, scores.F32, nil, 1e-4)
			checkMap(t, "gradcam", got[0], read(tc.name+"/gradcam").F32, nil, 1e-4)
			checkMap(t, "gradcam.low", got[1], read(tc.name+"/gradcam.low").F32, nil, 1e-4)
			checkMap(t, "scorecam-pytorch", got[2], read(tc.name+"/scorecam-pytorch").F32, nil, 1e-4)
		})
	}
	t.Run("default layer of a segmentation output", func(t *testing.T) {
		// The output [N,8,8,3] is spatial but is what is explained: the
		// default layer is the last spatial layer before it.
		fw, err := loadOutput(t, f, "output_0").Inline()
		if err != nil {
			t.Fatal(err)
		}
		if l, err := fw.DefaultLayer(); err != nil || l.Name != "pool2" {
			t.Errorf("default layer %q (%v), want pool2", l.Name, err)
		}
	})
	t.Run("EmbeddingOf", func(t *testing.T) {
		m := loadOutput(t, f, "output_2")
		img := read("ref_image")
		for _, layer := range []string{"", "gap"} {
			want := read("ref_emb")
			if layer != "" {
				want = read("ref_gap")
			}
			emb, err := EmbeddingOf(context.Background(), m, layer, Batch{img.F32, 1})
			if err != nil {
				t.Fatal(err)
			}
			checkMap(t, "EmbeddingOf "+layer, emb[0], want.F32, nil, 1e-5)
		}
	})
}

// TestObjectiveErrors: a target that does not fit the output is an
// *ObjectiveError from New naming the tensor's shape and what fits; CAM
// does not apply under a non-class objective; top-k past the objective's
// columns is refused.
func TestObjectiveErrors(t *testing.T) {
	f := fixture.Load(t, "multihead")
	for _, tc := range []struct {
		name, output string
		obj          Objective
		want         []string
	}{
		{"region on [N,16]", "output_2", Region(), []string{"region", "[-1 16]", "segmentation output [N,H',W',classes]"}},
		{"regression on [N,16]", "output_2", Regression(1), []string{"regression", "[-1 16]", "[N] or [N,1]"}},
		{"regression sign 0", "output_1", Regression(0), []string{"sign +1 or -1"}},
		{"contrast on seg", "output_0", Contrast(1), []string{"contrast", "[-1 8 8 3]", "class scores [N, classes]"}},
		{"contrast class 16", "output_2", Contrast(16), []string{"contrast class in [0, 16)"}},
		{"embedding ref length", "output_2", Embedding(make([]float32, 3), ""), []string{"16 values per image, not 3"}},
		{"mask size", "output_0", RegionMask(make([]float32, 5), 2, 2), []string{"5 values is not 2×2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := loadOutput(t, f, tc.output)
			_, err := New(m, Config{Objective: tc.obj, Methods: []Method{GradCAM{}}})
			if err == nil {
				t.Fatal("New accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var oe *ObjectiveError
			if tc.name != "mask size" && (!errors.As(err, &oe) || !errors.Is(err, ErrObjective)) {
				t.Errorf("error %v is not an *ObjectiveError", err)
			}
		})
	}
	t.Run("CAM and top-k", func(t *testing.T) {
		m := loadOutput(t, f, "output_1")
		e, err := New(m, Config{Objective: Regression(1), Methods: []Method{GradCAM{}, CAM{}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Skipped()) != 1 || e.Skipped()[0].Method != "cam" || !errors.Is(e.Skipped()[0], tfgraph.ErrNoDenseHead) {
			t.Errorf("skipped %v, want cam (no Dense head column)", e.Skipped())
		}
		in := f.Array(t, "inputs")
		_, err = e.Explain(context.Background(), Batch{in.F32[:32*32*3], 1}, TopK(3))
		if err == nil || !strings.Contains(err.Error(), "top-3 asked but target regression") {
			t.Errorf("top-3 of a regression target: %v", err)
		}
		res, err := e.Explain(context.Background(), Batch{in.F32[:32*32*3], 1}, TopK(2))
		if err != nil {
			t.Fatal(err)
		}
		if p := res[0].Predictions; len(p) != 2 || p[0].Class != 0 || p[1].Class != 1 || p[0].Score != -p[1].Score {
			t.Errorf("regression predictions %+v, want classes 0, 1 with scores y, -y", p)
		}
	})
}
