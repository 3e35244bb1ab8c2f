package explainer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
)

// smoothCases are the smoothed methods scripts/reference_smooth.py checks:
// a gradient-weighted CAM, an element-wise one and a perturbation one, each
// with eigen_smooth, aug_smooth and both.
var smoothCases = []struct {
	ref  string
	meth Method
}{
	{"gradcam-eigen", Smoothed{Method: GradCAM{}, EigenSmooth: true}},
	{"gradcam-aug", Smoothed{Method: GradCAM{}, AugSmooth: true}},
	{"gradcam-eigen-aug", Smoothed{Method: GradCAM{}, EigenSmooth: true, AugSmooth: true}},
	{"layercam-eigen", Smoothed{Method: LayerCAM{}, EigenSmooth: true}},
	{"layercam-aug", Smoothed{Method: LayerCAM{}, AugSmooth: true}},
	{"layercam-eigen-aug", Smoothed{Method: LayerCAM{}, EigenSmooth: true, AugSmooth: true}},
	{"scorecam-eigen", Smoothed{Method: ScoreCAM{}, EigenSmooth: true}},
	{"scorecam-aug", Smoothed{Method: ScoreCAM{}, AugSmooth: true}},
	{"scorecam-eigen-aug", Smoothed{Method: ScoreCAM{}, EigenSmooth: true, AugSmooth: true}},
}

// TestSmoothMatchPythonReference compares eigen_smooth, aug_smooth and both
// on Grad-CAM, LayerCAM and Score-CAM with scripts/reference_smooth.py
// (pytorch-grad-cam's definitions in numpy and tf.GradientTape on the
// Keras model) on every fixture with a Keras model: 1e-4 max-abs on the
// normalised maps (fixture.HalfTolerance for half precision). The layer
// gradients here cross no ReLU or max-pool kink (as Grad-CAM's and
// LayerCAM's in TestMethodsMatchPythonReference), so no kink envelope.
func TestSmoothMatchPythonReference(t *testing.T) {
	refDir := t.TempDir()
	type run struct {
		f    *fixture.Fixture
		maps map[string][]float32
	}
	var runs []run
	var dirs []string
	for _, name := range fixture.Names(t) {
		f := fixture.Load(t, name)
		if _, err := os.Stat(filepath.Join(f.Dir, "model.keras")); err != nil {
			continue
		}
		_, m := loadModel(t, name)
		dirs = append(dirs, f.Dir)
		in := f.Array(t, "inputs")
		r := run{f: f, maps: map[string][]float32{}}
		// One explainer per smoothing: outputs are named by method.
		for _, smoothing := range []string{"-eigen", "-aug", "-eigen-aug"} {
			var methods []Method
			var refs []string
			for _, c := range smoothCases {
				if strings.HasSuffix(c.ref, smoothing) && !strings.HasSuffix(c.ref, "-eigen"+smoothing) {
					methods = append(methods, c.meth)
					refs = append(refs, c.ref)
				}
			}
			e, err := New(m, Config{Methods: methods})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(e.Skipped()) > 0 {
				t.Fatalf("%s: %v", name, e.Skipped()[0])
			}
			res, err := e.Explain(context.Background(), Batch{in.F32, in.Shape[0]}, Top1())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			targets := f.Array(t, "targets")
			for j, ref := range refs {
				for i, re := range res {
					if re.Maps[0][j].Class != int(targets.I32[i]) {
						t.Fatalf("%s %s image %d: explained class %d, the reference's %d", name, ref, i, re.Maps[0][j].Class, targets.I32[i])
					}
					r.maps[ref] = append(r.maps[ref], re.Maps[0][j].Normalized...)
				}
			}
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		t.Fatal("no fixture with model.keras")
	}
	fixture.Python(t, "reference_smooth.py", append([]string{refDir}, dirs...)...)
	for _, r := range runs {
		t.Run(r.f.Name, func(t *testing.T) {
			for _, c := range smoothCases {
				ref, err := npy.ReadFile(filepath.Join(refDir, r.f.Name, c.ref+".npy"))
				if err != nil {
					t.Fatal(err)
				}
				checkMap(t, c.ref, r.maps[c.ref], ref.F32, nil, r.f.Tolerance(1e-4))
			}
		})
	}
}

// TestSmoothOptions: the shared options parse on the methods that take
// them, into a Smoothed with the method's own options kept, and are
// refused, before any model loads, with an *OptionError saying why,
// where they do not apply.
func TestSmoothOptions(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Method
		// refused is the option an *OptionError names ("" for no error);
		// why a phrase of its message.
		refused, why string
	}{
		{spec: "gradcam:eigen_smooth=true", want: Smoothed{Method: GradCAM{}, EigenSmooth: true}},
		{spec: "gradcam:aug_smooth=1:EIGEN_SMOOTH=true", want: Smoothed{Method: GradCAM{}, EigenSmooth: true, AugSmooth: true}},
		{spec: "gradcam:eigen_smooth=false", want: GradCAM{}},
		{spec: "gradcam:eigen_smooth=true:eigen_smooth=false", want: GradCAM{}},
		{spec: "scorecam:aug_smooth=true:variant=softmax", want: Smoothed{Method: ScoreCAM{Variant: "softmax"}, AugSmooth: true}},
		{spec: "faster-scorecam:topn=5:eigen_smooth=true", want: Smoothed{Method: ScoreCAM{TopN: 5}, EigenSmooth: true}},
		{spec: "groupcam:aug_smooth=true", want: Smoothed{Method: GroupCAM{}, AugSmooth: true}},
		{spec: "eigencam:aug_smooth=true", want: Smoothed{Method: EigenCAM{}, AugSmooth: true}},
		{spec: "eigencam:eigen_smooth=true", refused: "eigen_smooth", why: "already the first principal component"},
		{spec: "eigengradcam:eigen_smooth=true", refused: "eigen_smooth", why: "already"},
		{spec: "kpcacam:eigen_smooth=true", refused: "eigen_smooth", why: "already"},
		{spec: "groupcam:eigen_smooth=true", refused: "eigen_smooth", why: "input's resolution"},
		{spec: "saliency:aug_smooth=true", refused: "aug_smooth", why: "input gradients"},
		{spec: "occlusion:aug_smooth=true", refused: "aug_smooth", why: "signed attribution"},
		{spec: "guided-gradcam:aug_smooth=true", refused: "aug_smooth", why: "guided backpropagation"},
		{spec: "scorecam:variant=softmax:baseline=zero:aug_smooth=true", refused: "baseline", why: "softmax"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			ms, err := ParseMethods(tc.spec)
			if tc.refused == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(ms[0], tc.want) {
					t.Errorf("got %#v, want %#v", ms[0], tc.want)
				}
				return
			}
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Option != tc.refused || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("got %v, want an *OptionError on %s saying %q", err, tc.refused, tc.why)
			}
		})
	}
	if _, err := ParseMethods("gradcam:aug_smooth=maybe"); err == nil || !strings.Contains(err.Error(), "true or false") {
		t.Errorf("aug_smooth=maybe: got %v, want a true-or-false error", err)
	}
	if got := Options(Smoothed{Method: ScoreCAM{TopN: 3}, AugSmooth: true}); !strings.Contains(strings.Join(got, " "), "topn=3 eigen_smooth=false aug_smooth=true") {
		t.Errorf("Options: %v", got)
	}
}

// TestSmoothInfo: Info says which methods take the shared options, derived
// from what the methods are; every class-activation map of the gradient
// family takes aug_smooth.
func TestSmoothInfo(t *testing.T) {
	takes := map[string][2]bool{}
	for _, in := range Methods() {
		takes[in.Name] = [2]bool{in.EigenSmooth, in.AugSmooth}
	}
	for name, want := range map[string][2]bool{
		"gradcam": {true, true}, "layercam": {true, true}, "hirescam": {true, true}, "scorecam": {true, true},
		"ablationcam": {true, true}, "shapleycam": {true, true}, "eigencam": {false, true}, "kpcacam": {false, true},
		"groupcam": {false, true}, "clustercam": {false, true}, "saliency": {false, false}, "rise": {false, false},
		"guided-gradcam": {false, false}, "fullgrad": {false, false},
	} {
		if takes[name] != want {
			t.Errorf("%s: eigen_smooth, aug_smooth taken: %v, want %v", name, takes[name], want)
		}
	}
}

// TestSmoothCost: aug_smooth declares its 6 copies and 6× the method's, so
// New's copy check passes, and a budget that forces Score-CAM's copies
// into chunks and the batch into single-image runs gives the same maps.
func TestSmoothCost(t *testing.T) {
	g := Geometry{H: 32, W: 32, C: 3, LH: 8, LW: 8, K: 64, Classes: 10}
	for _, tc := range []struct {
		m    Method
		want Cost
	}{
		{Smoothed{Method: GradCAM{}, EigenSmooth: true}, Cost{}},
		{Smoothed{Method: GradCAM{}, AugSmooth: true}, Cost{Copies: 6}},
		{Smoothed{Method: ScoreCAM{}, AugSmooth: true}, Cost{Copies: 6 * 65}},
		{Smoothed{Method: ScoreCAM{TopN: 10, Baseline: "zero"}, AugSmooth: true}, Cost{Copies: 6 * 12}},
		{Smoothed{Method: AblationCAM{}, AugSmooth: true}, Cost{Copies: 6, TailCopies: 6 * 64}},
	} {
		if got := costOf(tc.m, g); got != tc.want {
			t.Errorf("%s %+v: cost %+v, want %+v", tc.m.Name(), tc.m, got, tc.want)
		}
	}
	f, m := loadModel(t, "resnet")
	in := f.Array(t, "inputs")
	meth := Smoothed{Method: ScoreCAM{TopN: 10}, EigenSmooth: true, AugSmooth: true}
	var maps [2][]float32
	for i, limit := range []int64{0, 1} {
		e, err := New(m, Config{Methods: []Method{meth}, MaxTensorElements: limit})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			// The limit is raised to one image's largest activation:
			// copies are chunked and the batch split.
			limit = e.fw.MaxActivation() * int64(augCopies)
			if e, err = New(m, Config{Methods: []Method{meth}, MaxTensorElements: limit}); err != nil {
				t.Fatal(err)
			}
			if e.chunks(meth) < 2 {
				t.Fatalf("budget %d: %d chunks, want several", limit, e.chunks(meth))
			}
			if per, _ := e.imagesPerRun(in.Shape[0]); per != 1 {
				t.Fatalf("budget %d: %d images per run, want 1", limit, per)
			}
		}
		res, err := e.Explain(context.Background(), Batch{in.F32, in.Shape[0]}, Top1())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			maps[i] = append(maps[i], r.Maps[0][0].Normalized...)
		}
	}
	if d := fixture.MaxAbsDiff(maps[0], maps[1]); d > 1e-5 {
		t.Errorf("chunked and split: max |Δ| = %.3g from one run", d)
	}
}
