package explainer

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
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

// smoothImages is how many of each fixture's images the smoothing parity
// test explains (aug_smooth's cost is 6× a method's); smoothSkipScoreCAM
// are the fixtures where it leaves Score-CAM out: the smoothings act on
// the map whatever made it, and Score-CAM's smoothed maps cost 6·(K+1)
// forward passes per image and case, so it is checked on shapes only
// (Grad-CAM and LayerCAM on every smoothingFixtures).
const (
	smoothImages       = 2
	smoothSkipScoreCAM = "efficientnet,vit"
)

// TestSmoothMatchPythonReference compares eigen_smooth, aug_smooth and both
// on Grad-CAM, LayerCAM and Score-CAM with scripts/reference_smooth.py
// (pytorch-grad-cam's definitions in numpy and tf.GradientTape on the
// Keras model) on smoothingFixtures (parity_test.go: a ReLU CNN, a
// SiLU/depthwise net, a transformer): 1e-4 max-abs on the normalised maps. The layer
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
	for _, name := range smoothingFixtures {
		f, m := loadModel(t, name)
		dirs = append(dirs, f.Dir)
		in := f.Array(t, "inputs")
		r := run{f: f, maps: map[string][]float32{}}
		// One explainer per smoothing: outputs are named by method.
		for _, smoothing := range []string{"-eigen", "-aug", "-eigen-aug"} {
			var methods []Method
			var refs []string
			for _, c := range smoothCases {
				if c.meth.Name() == "scorecam" && slices.Contains(strings.Split(smoothSkipScoreCAM, ","), name) {
					continue
				}
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
			n := min(smoothImages, in.Shape[0])
			res, err := e.Explain(context.Background(), Batch{in.F32[:len(in.F32)/in.Shape[0]*n], n}, Top1())
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
	fixture.Reference(t, "reference_smooth.py", refDir, append([]string{strconv.Itoa(smoothImages), smoothSkipScoreCAM}, dirs...)...)
	for _, r := range runs {
		t.Run(r.f.Name, func(t *testing.T) {
			for _, c := range smoothCases {
				if c.meth.Name() == "scorecam" && slices.Contains(strings.Split(smoothSkipScoreCAM, ","), r.f.Name) {
					continue
				}
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
	// The 6 augmented copies run whole: a budget below them is refused,
	// not exceeded, though the method's own copies would fit in chunks.
	e, err := New(m, Config{Methods: []Method{meth}, MaxTensorElements: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.MaxTensorElements = e.fw.MaxActivation() * int64(augCopies-1)
	if _, err := e.Explain(context.Background(), Batch{in.F32[:len(in.F32)/in.Shape[0]], 1}, Top1()); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("budget of 5 copies: got %v, want the budget's refusal", err)
	}
}

// TestSmoothEveryMethod runs every method that takes aug_smooth with it
// (and with eigen_smooth where taken) on an image and its mirror image,
// explaining the same class. Every one must build (its copies declared:
// New's copy check), apply where the plain method applies, and be
// mirror-equivariant: the 6 copies of the mirror image are those of the
// image, flipped copies swapped with unflipped ones, so its map is the
// image's map mirrored, whatever the method computes (except where a
// method draws noise per copy: then only the build is checked).
func TestSmoothEveryMethod(t *testing.T) {
	noisy := map[string]bool{"sscam": true, "smoothgradcam++": true}
	f, m := loadModel(t, "resnet")
	in := f.Array(t, "inputs")
	targets := f.Array(t, "targets")
	h, w, c := in.Shape[1], in.Shape[2], in.Shape[3]
	img := in.F32[:h*w*c]
	mirror := make([]float32, len(img))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			copy(mirror[(y*w+x)*c:(y*w+x+1)*c], img[(y*w+w-1-x)*c:(y*w+w-x)*c])
		}
	}
	var methods, plain []Method
	for _, info := range Methods() {
		if info.AugSmooth {
			if info.Name == "sscam" {
				info.Method = SSCAM{Samples: 2} // noisy: only built
			}
			methods = append(methods, Smooth(info.Method, info.EigenSmooth, true))
			plain = append(plain, info.Method)
		}
	}
	skipped := func(cfg Config) map[string]bool {
		e, err := New(m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, na := range e.Skipped() {
			out[na.Method] = true
		}
		return out
	}
	wantSkipped := skipped(Config{Methods: plain})
	e, err := New(m, Config{Methods: methods, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, na := range e.Skipped() {
		if !wantSkipped[na.Method] {
			t.Errorf("%s: %v (the plain method applies)", na.Method, na)
		}
	}
	class := int(targets.I32[0])
	res, err := e.Explain(context.Background(), Batch{append(append([]float32{}, img...), mirror...), 2}, Classes(class, class))
	if err != nil {
		t.Fatal(err)
	}
	for j, meth := range e.Methods() {
		a, b := res[0].Maps[0][j].Normalized, res[1].Maps[0][j].Normalized
		if res[0].Maps[0][j].Flat {
			t.Errorf("%s: flat map", meth.Name())
		}
		if noisy[meth.Name()] {
			continue
		}
		var d float64
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				d = max(d, float64(abs32(a[y*w+x]-b[y*w+w-1-x])))
			}
		}
		if d > 1e-4 {
			t.Errorf("%s %v: the mirror image's map is not the map mirrored: max |Δ| = %.3g", meth.Name(), Options(meth), d)
		}
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
