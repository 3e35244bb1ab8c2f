package explainer

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
)

// dffRef are the settings the DFF parity test runs with (the defaults) and
// hands scripts/reference_dff.py.
var dffRef = DeepFeatureFactorization{Concepts: 5, Iterations: 200}

// labelTieGap is the probability gap below which two classes of a concept
// count as tied: the top class is then not compared, only the probabilities.
const labelTieGap = 1e-3

// TestDFFMatchesReference compares DeepFeatureFactorization on the fixtures
// of its parity row (parity_test.go) with scripts/reference_dff.py: the multiplicative updates in
// numpy float64 from the same start (recomputed there from the seed),
// cross-checked against scikit-learn's NMF(solver='mu'). 1e-4 max-abs on
// the normalised concept maps at input and layer resolution; the concepts'
// class probabilities within 1e-4 and the same top class (where the
// reference's top two differ by more than labelTieGap) on the fixtures
// whose Keras model the reference can cut at the layer; the numpy
// updates within 1e-6 of scikit-learn's.
func TestDFFMatchesReference(t *testing.T) {
	names := parityFixtures(t, "reference_dff.py")
	refDir := t.TempDir()
	type run struct {
		f   *fixture.Fixture
		res []Result
	}
	runs := map[string]run{}
	var dirs []string
	for _, name := range names {
		f, m := loadModel(t, name)
		dirs = append(dirs, f.Dir)
		start := time.Now()
		e, err := New(m, Config{Methods: []Method{dffRef}, LowRes: true, Seed: camSeed})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		built := time.Since(start)
		in := f.Array(t, "inputs")
		start = time.Now()
		res, err := e.Explain(context.Background(), Batch{in.F32, in.Shape[0]}, Top1())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: graph built in %v, %d images explained in %v", name, built.Round(time.Millisecond), in.Shape[0], time.Since(start).Round(time.Millisecond))
		runs[name] = run{f, res}
	}
	fixture.Reference(t, "reference_dff.py", refDir, append([]string{strconv.Itoa(camSeed), strconv.Itoa(dffRef.Concepts), strconv.Itoa(dffRef.Iterations)}, dirs...)...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			r := runs[name]
			dir := filepath.Join(refDir, name)
			var sk struct {
				MaxAbs float64 `json:"max_abs"`
			}
			raw, err := os.ReadFile(filepath.Join(dir, "dff.sklearn.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &sk); err != nil {
				t.Fatal(err)
			}
			if sk.MaxAbs > 1e-6 {
				t.Errorf("reference: numpy updates vs scikit-learn NMF(solver='mu'): max |Δ| = %.3g > 1e-6", sk.MaxAbs)
			}
			for i, suffix := range []string{"", ".low"} {
				ref, err := npy.ReadFile(filepath.Join(dir, "dff"+suffix+".npy"))
				if err != nil {
					t.Fatal(err)
				}
				var got []float32
				for _, re := range r.res {
					cs := re.Maps[0][0].Concepts
					if cs == nil || len(cs.Maps) != dffRef.Concepts {
						t.Fatalf("image without %d concepts: %+v", dffRef.Concepts, cs)
					}
					for c := range cs.Maps {
						if i == 0 {
							got = append(got, cs.Maps[c]...)
						} else {
							got = append(got, cs.LowRes[c]...)
						}
					}
				}
				checkMap(t, "dff"+suffix, got, ref.F32, nil, r.f.Tolerance(1e-4))
			}
			probs, err := npy.ReadFile(filepath.Join(dir, "dff.probs.npy"))
			if os.IsNotExist(err) {
				return // no Keras model to cut at the layer: labels unchecked
			}
			if err != nil {
				t.Fatal(err)
			}
			checkConceptLabels(t, r.res, probs, r.f.Tolerance(1e-4))
		})
	}
}

// checkConceptLabels compares each concept's labels with the reference's
// probabilities [N,n,classes].
func checkConceptLabels(t *testing.T, res []Result, probs *npy.Array, tol float64) {
	t.Helper()
	n, classes := probs.Shape[1], probs.Shape[2]
	worst, compared := 0.0, 0
	for i, re := range res {
		cs := re.Maps[0][0].Concepts
		if len(cs.Labels) != n {
			t.Fatalf("image %d: %d concepts with labels, want %d", i, len(cs.Labels), n)
		}
		for c, labels := range cs.Labels {
			ref := probs.F32[(i*n+c)*classes : (i*n+c+1)*classes]
			for _, l := range labels {
				worst = math.Max(worst, math.Abs(float64(l.Score-ref[l.Class])))
			}
			best, second := -1, -1
			for k, p := range ref {
				switch {
				case best < 0 || p > ref[best]:
					best, second = k, best
				case second < 0 || p > ref[second]:
					second = k
				}
			}
			if second >= 0 && ref[best]-ref[second] <= labelTieGap {
				continue
			}
			compared++
			if labels[0].Class != best {
				t.Errorf("image %d concept %d: top class %d (p=%.4g), reference %d (p=%.4g)", i, c, labels[0].Class, labels[0].Score, best, ref[best])
			}
		}
	}
	if worst > tol || math.IsNaN(worst) {
		t.Errorf("concept probabilities: max |go - reference| = %.3g > %g", worst, tol)
	}
	t.Logf("concept labels: %d top classes compared, probabilities within %.2g", compared, worst)
}

// TestDFFBatchIndependent checks that an image's concepts do not depend
// on the batch it is in: each image factorised alone gives the maps and
// labels (classes and probabilities) of the batch run. The labels also
// catch a start whose scale depends on the batch: the multiplicative
// updates from c·W₀, c·H₀ give W/c and c·H, the same normalised maps but
// other concept embeddings.
func TestDFFBatchIndependent(t *testing.T) {
	// efficientnet: swish activations, whose per-channel minimum differs
	// from image to image (after a ReLU it is 0 for all).
	f, e := newExplainer(t, "efficientnet", Config{Methods: []Method{DeepFeatureFactorization{Concepts: 3, Iterations: 50}}, Seed: 7})
	in := f.Array(t, "inputs")
	n, per := in.Shape[0], len(in.F32)/in.Shape[0]
	all, err := e.Explain(context.Background(), Batch{in.F32, n}, Top1())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		one, err := e.Explain(context.Background(), Batch{in.F32[i*per : (i+1)*per], 1}, Top1())
		if err != nil {
			t.Fatal(err)
		}
		a, b := all[i].Maps[0][0].Concepts, one[0].Maps[0][0].Concepts
		for c := range a.Maps {
			if d := fixture.MaxAbsDiff(a.Maps[c], b.Maps[c]); d > 1e-5 {
				t.Errorf("image %d concept %d: batch vs alone: max |Δ| = %.3g", i, c, d)
			}
			for p := range a.Labels[c] {
				la, lb := a.Labels[c][p], b.Labels[c][p]
				if la.Class != lb.Class || math.Abs(float64(la.Score-lb.Score)) > 1e-5 {
					t.Errorf("image %d concept %d label %d: %+v in the batch, %+v alone", i, c, p, la, lb)
				}
			}
		}
	}
}
