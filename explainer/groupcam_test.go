package explainer

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
	"github.com/tfcam/tfcam/tfgraph"
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// TestGroupClusterCosineMatchPythonReference compares Group-CAM, Cluster-CAM
// and Cosine-CAM with scripts/reference_groupcam.py (float64 numpy and the
// Keras model) on the Keras fixtures: 1e-4 max-abs on the normalised maps,
// except 1e-3 for the two blurred-baseline methods on the random-weight
// MobileNet. Its outputs are nearly uniform (every probability ≈ 0.124), so
// the gains f(masked) − f(blur) are ~1e-4, differences of float32 numbers
// whose own rounding is ~1e-8: in the reference, perturbing the blurred
// image by 1e-7 relative noise alone moves the normalised Group-CAM map by
// 4.4e-4 there (by 1.5e-6 on the ResNet, 8e-8 on shapes). That is the
// method's conditioning on that model, not a difference of formula.
func TestGroupClusterCosineMatchPythonReference(t *testing.T) {
	names := []string{"shapes", "resnet", "mobilenet"}
	var dirs []string
	for _, n := range names {
		dirs = append(dirs, fixture.Load(t, n).Dir)
	}
	out := t.TempDir()
	fixture.Python(t, "reference_groupcam.py", append([]string{out}, dirs...)...)
	methods := []Method{GroupCAM{}, ClusterCAM{}, CosineCAM{}}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			f, m := loadModel(t, name)
			in := f.Array(t, "inputs")
			e, err := New(m, Config{Methods: methods})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Explain(context.Background(), Batch{in.F32, in.Shape[0]}, Top1())
			if err != nil {
				t.Fatal(err)
			}
			for j, meth := range methods {
				ref, err := npy.ReadFile(filepath.Join(out, name, meth.Name()+".npy"))
				if err != nil {
					t.Fatal(err)
				}
				var got []float32
				for _, r := range res {
					got = append(got, r.Maps[0][j].Normalized...)
				}
				tol := 1e-4
				if _, cosine := meth.(CosineCAM); name == "mobilenet" && (cosine || meth.Name() == "groupcam") {
					tol = 1e-3
				}
				if d := fixture.MaxAbsDiff(got, ref.F32); d > tol || math.IsNaN(d) {
					t.Errorf("%s: max |go - reference| = %.3g > %g", meth.Name(), d, tol)
				} else {
					t.Logf("%s: max |go - reference| = %.2g", meth.Name(), d)
				}
			}
			want, err := npy.ReadFile(filepath.Join(out, name, "cosinecam_groups.npy"))
			if err != nil {
				t.Fatal(err)
			}
			got := cosineGroupCounts(t, e, m, f)
			for i := range want.F32 {
				if got[i] != want.F32[i] {
					t.Errorf("cosinecam image %d: %v groups, kneed's elbow gives %v", i, got[i], want.F32[i])
				}
			}
			t.Logf("cosinecam groups: %v (kneed: %v)", got, want.F32)
		})
	}
}

// cosineGroupCounts is the number of groups Cosine-CAM's elbow chooses for
// each image of the fixture, from its activations and gradients (the
// reference's inputs), in e's graph.
func cosineGroupCounts(t *testing.T, e *Explainer, m *tfgraph.Model, f *fixture.Fixture) []float32 {
	t.Helper()
	a, g := f.Array(t, "layer"), f.Array(t, "grad_layer")
	shape := []int64{int64(a.Shape[0]), int64(a.Shape[1]), int64(a.Shape[2]), int64(a.Shape[3])}
	slots, fixed := cosineLayout(0, a.Shape[3])
	if fixed {
		counts := make([]float32, a.Shape[0])
		for i := range counts {
			counts[i] = float32(slots)
		}
		return counts
	}
	o := &Ops{s: e.root.SubScope("test_cosine_groups")}
	ps := op.PlaceholderShape(tf.MakeShape(-1, shape[1], shape[2], shape[3]))
	pa, pg := op.Placeholder(o.Scope(), tf.Float, ps), op.Placeholder(o.Scope(), tf.Float, ps)
	_, feats := cosineFeatures(o, pa, pg)
	res, err := m.Run(context.Background(), map[tf.Output]tfgraph.Feed{pa: {F32: a.F32, Shape: shape}, pg: {F32: g.F32, Shape: shape}},
		[]tf.Output{cosineElbow(o, feats, slots, kmeansIterations(0))})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

// TestGroupClusterCosinePointingGame logs the pointing game (as
// TestPointingGame) of the three methods on the shapes evaluation set, next
// to Grad-CAM's.
func TestGroupClusterCosinePointingGame(t *testing.T) {
	pointingGame(t, []Method{GradCAM{}, GroupCAM{}, ClusterCAM{}, CosineCAM{}})
}

// TestKneedleMatchesKneed compares the in-graph elbow of Cosine-CAM with
// kneed 0.8.5's KneeLocator(curve="convex", direction="decreasing") on
// random curves of 2–10 points: smooth ones, unsorted ones, flat ones
// (kneed: no elbow), and integer ones whose normalised values are exact
// binary fractions in float32 and float64 alike, so that the many exact
// ties of the difference curve (argrelextrema's plateaus) compare the same
// in both.
func TestKneedleMatchesKneed(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	sets := map[int][][]float32{}
	var args []string
	for m := 2; m <= 10; m++ {
		var curves [][]float32
		for c := 0; c < 300; c++ {
			y := make([]float32, m)
			switch c % 5 {
			case 0: // decreasing, convex-ish, with noise
				for i := range y {
					y[i] = float32(100/float64(i+1) + rng.NormFloat64()*5)
				}
			case 1: // decreasing
				v := 100.0
				for i := range y {
					v -= rng.Float64() * 20
					y[i] = float32(v)
				}
			case 2: // arbitrary
				for i := range y {
					y[i] = float32(rng.Float64())
				}
			case 3: // flat, or integers with exact normalisation
				if c%10 == 3 || (m-1)&(m-2) != 0 {
					for i := range y {
						y[i] = 7
					}
					break
				}
				for i := range y {
					y[i] = float32(rng.IntN(m))
				}
				lo, hi := rng.IntN(m), rng.IntN(m)
				for hi == lo && m > 1 {
					hi = rng.IntN(m)
				}
				y[lo], y[hi] = 0, float32(m-1)
			case 4: // exact integers, decreasing with plateaus
				if (m-1)&(m-2) != 0 {
					for i := range y {
						y[i] = float32(m - 1 - i)
					}
					break
				}
				v := m - 1
				for i := range y {
					y[i] = float32(v)
					if i < m-1 && rng.IntN(3) > 0 && v > 0 {
						v -= 1 + rng.IntN(v)
					}
				}
				y[m-1] = 0
			}
			curves = append(curves, y)
		}
		var flat []float32
		for _, y := range curves {
			flat = append(flat, y...)
		}
		in, out := filepath.Join(dir, fmt.Sprintf("curves%d.npy", m)), filepath.Join(dir, fmt.Sprintf("kneed%d.npy", m))
		if err := npy.WriteFloat32File(in, flat, []int{len(curves), m}); err != nil {
			t.Fatal(err)
		}
		sets[m] = curves
		args = append(args, in, out)
	}
	fixture.Python(t, "reference_groupcam.py", append([]string{"--kneed"}, args...)...)
	for m := 2; m <= 10; m++ {
		curves := sets[m]
		want, err := npy.ReadFile(filepath.Join(dir, fmt.Sprintf("kneed%d.npy", m)))
		if err != nil {
			t.Fatal(err)
		}
		s := op.NewScope()
		o := &Ops{s: s}
		ys := op.Placeholder(o.Scope(), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, int64(m))))
		xs := make([]float64, m)
		for i := range xs {
			xs[i] = float64(i + 3)
		}
		knee := kneedleConvexDecreasing(o, xs, ys, -1)
		g, err := s.Finalize()
		if err != nil {
			t.Fatal(err)
		}
		sess, err := tf.NewSession(g, nil)
		if err != nil {
			t.Fatal(err)
		}
		feed, err := tf.NewTensor(curves)
		if err != nil {
			t.Fatal(err)
		}
		res, err := sess.Run(map[tf.Output]*tf.Tensor{ys: feed}, []tf.Output{knee}, nil)
		sess.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := res[0].Value().([]float32)
		bad, none := 0, 0
		for i := range got {
			if want.F32[i] < 0 {
				none++
			}
			if got[i] != want.F32[i] {
				if bad++; bad <= 5 {
					t.Errorf("%d points, curve %v: elbow %v, kneed %v", m, curves[i], got[i], want.F32[i])
				}
			}
		}
		t.Logf("%d points: %d curves, %d without elbow, %d mismatches", m, len(got), none, bad)
	}
}
