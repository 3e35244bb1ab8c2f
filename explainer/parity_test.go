package explainer

import (
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
)

// The parity table: for every registered method, the independent reference
// that defines it, the fixtures it is compared on and why those, the
// tolerance, and how rounding at kinks, thresholds and near-flat scores is
// told apart from a wrong formula. The parity tests (one per reference
// script, since one Python process computes a whole family per fixture)
// read their fixtures and their tolerances from here: to answer "is
// Score-CAM right, and where is it checked?" read its row.
//
// Fixtures, by what they exercise:
//
//	shapes        trained ReLU CNN with max-pool: scores move (well conditioned), kinks everywhere
//	resnet        batch norm, residual adds, ReLU, max-pool; random weights
//	vgg           plain ReLU/max-pool stack, a pooled target layer
//	mobilenet     ReLU6, depthwise convolutions; nearly uniform softmax
//	efficientnet  SiLU, depthwise, squeeze-excite; nearly uniform softmax
//	vit           a transformer: token layer [N,T,C], class token
//	mixed_float16 float16 layers and scores (fixture.HalfTolerance)
//	uint8_input   uint8 input in [0,255]
//
// A method is checked on the two or three fixtures that exercise what it
// computes: a ReLU CNN, a depthwise/SiLU net, a transformer where it applies
// to tokens. The sweep over every fixture stays where the architecture is
// what is tested: the Grad-CAM core (reference_cams.py, every fixture: the
// graph inlining, the layer gradient and the resize on every way a model
// can be saved) and FullGrad's bias sites; tfgraph's forward and gradient
// tests sweep every fixture too.
//
// Rounding (the rounding column):
//
//	plain   smooth in the inputs and weights: a plain max-abs tol
//	kinks   input gradients through every ReLU and max-pool: outside the kink envelope (internal/fixture/kinks.go)
//	scores  differences of model scores (perturbation and score-weighted maps):
//	        tol + fixture.RoundingTerm(|score|, range of the raw map) per image,
//	        and the fixture must be well conditioned (term ≤ fixture.IllConditioned)
//	map     tol + RoundingTerm(max |raw|, range): the rounding of the map's own values (a lower
//	        bound where the terms it sums cancel, as FEM's on efficientnet: such fixtures are left out)
//	choices discrete choices fetched from tfcam's run and re-made by the reference (groupcam_test.go)
type parityRow struct {
	method   string
	ref      string
	fixtures []string
	tol      float64
	rounding string
	why      string
}

// every marks a row swept over every built fixture.
var every = []string{"*"}

var parityTable = []parityRow{
	// The Grad-CAM core and the methods sharing its forward and backward pass.
	{"gradcam", "reference_cams.py", every, 1e-4, "plain", "the core: every architecture and save format"},
	{"gradcam++", "reference_cams.py", every, 1e-4, "plain", "shares the core's pass"},
	{"gradcam++norm", "reference_cams.py", every, 1e-4, "plain", "shares the core's pass"},
	{"hirescam", "reference_cams.py", every, 1e-4, "plain", "shares the core's pass"},
	{"xgradcam", "reference_cams.py", every, 1e-4, "plain", "shares the core's pass"},
	{"layercam", "reference_cams.py", every, 1e-4, "plain", "shares the core's pass"},
	{"eigencam", "reference_cams.py", every, 1e-4, "plain", "shares the core's pass"},
	{"guided-backprop", "reference_cams.py", every, 1e-4, "kinks", "the guided ReLU rewrite on every activation kind"},
	{"guided-gradcam", "reference_cams.py", every, 1e-4, "kinks", "the guided ReLU rewrite on every activation kind"},
	{"gradient-input", "reference_cams.py", every, 1e-4, "kinks", "shares the core's pass"},

	// Input gradients of modified images.
	{"saliency", "reference_more.py", []string{"shapes", "efficientnet", "vit", "mixed_float16"}, 1e-4, "kinks", "ReLU kinks, smooth SiLU, tokens, float16"},
	{"integrated-gradients", "reference_more.py", []string{"shapes", "efficientnet", "vit", "mixed_float16"}, 1e-4, "kinks", "ReLU kinks, smooth SiLU, tokens, float16"},
	{"squaregrad", "reference_attr.py", []string{"shapes", "efficientnet", "vit"}, 1e-4, "kinks", "ReLU kinks, smooth SiLU, tokens"},
	{"vargrad", "reference_attr.py", []string{"shapes", "efficientnet", "vit"}, 1e-4, "kinks", "ReLU kinks, smooth SiLU, tokens"},
	{"gradient-shap", "reference_attr.py", []string{"shapes", "efficientnet", "vit"}, 1e-4, "kinks", "ReLU kinks, smooth SiLU, tokens"},

	// Perturbation methods: the model as a black box, so the architecture
	// matters only through the forward pass (tfgraph sweeps it); the
	// fixtures must be ones whose scores move.
	{"occlusion", "reference_attr.py", []string{"shapes", "resnet", "vit"}, 1e-4, "scores", "black box: fixtures whose scores move, one with tokens"},
	{"rise", "reference_attr.py", []string{"shapes", "resnet", "vit"}, 1e-4, "scores", "black box: fixtures whose scores move, one with tokens"},
	{"sscam", "reference_attr.py", []string{"shapes", "resnet", "vit"}, 1e-4, "plain", "masks from a layer weighted by scores of masked images: fixtures whose scores move"},
	{"iscam", "reference_attr.py", []string{"shapes", "resnet", "vit"}, 1e-4, "plain", "masks from a layer weighted by scores of masked images: fixtures whose scores move"},
	{"scorecam", "reference_more.py", []string{"shapes", "resnet", "vit", "mixed_float16"}, 1e-4, "plain", "weights from scores of masked images (with a baseline: differences of them, 1e-3 rounding on efficientnet's flat softmax): fixtures whose scores move; float16"},
	{"faster-scorecam", "reference_more.py", []string{"shapes", "resnet", "vit", "mixed_float16"}, 1e-4, "plain", "Score-CAM on the top channels: as scorecam"},
	{"ablationcam", "reference_more.py", []string{"shapes", "resnet", "vit", "mixed_float16"}, 1e-4, "plain", "weights (y − y_k)/y from the head re-run on ablated channels: fixtures whose scores move; a token tail layer; float16"},
	{"cam", "reference_more.py", []string{"shapes", "resnet", "mixed_float16"}, 1e-4, "plain", "needs a GAP + Dense head"},

	// The CAM family of pytorch-grad-cam 1.5.
	{"eigengradcam", "reference_cam2.py", []string{"shapes", "resnet", "vit"}, 1e-4, "map", "the first singular vector of g⊙A; not efficientnet, where rounding of the reference's inputs by 2⁻²⁰ (TFCAM_REF_ROUNDING) moved it by 1.2e-4"},
	{"gradcam-elementwise", "reference_cam2.py", []string{"shapes", "efficientnet", "vit"}, 1e-4, "plain", "ReLU CNN, SiLU/depthwise, tokens"},
	{"fem", "reference_cam2.py", []string{"shapes", "resnet", "vit"}, 1e-4, "map", "gradient-free (activations above mean + 2σ): the layer's values matter, negative ones included (vit's GELU); not efficientnet, whose FEM map spans 6e-5 against activations ~0.3 (1.05e-4 off on an AVX-512 CPU)"},
	{"randomcam", "reference_cam2.py", []string{"shapes", "efficientnet", "vit"}, 1e-4, "plain", "the seeded draw"},
	{"kpcacam", "reference_cam2.py", []string{"shapes", "efficientnet", "vit"}, 1e-4, "plain", "ReLU CNN, SiLU/depthwise, tokens"},
	{"finercam", "reference_cam2.py", []string{"shapes", "efficientnet", "vit"}, 1e-4, "plain", "needs the Keras model"},
	{"shapleycam", "reference_cam2.py", []string{"shapes", "efficientnet", "vgg"}, 1e-4, "plain", "the Hessian term through SiLU (efficientnet:top_bn) and a max-pool (vgg:block2_conv2)"},

	// Smoothings, concepts, choices.
	{"dff", "reference_dff.py", []string{"shapes", "resnet", "vit"}, 1e-4, "plain", "NMF of the layer: ReLU, residual, tokens (negative GELU activations shifted); not efficientnet, where rounding of the reference's inputs by 2⁻²⁰ (TFCAM_REF_ROUNDING) moved it by 1.04e-4"},
	{"groupcam", "reference_groupcam.py", []string{"shapes", "resnet", "mobilenet"}, 1e-4, "choices", "percentile cut; mobilenet's near-uniform softmax"},
	{"clustercam", "reference_groupcam.py", []string{"shapes", "resnet", "mobilenet"}, 1e-4, "choices", "k-means choices"},
	{"cosinecam", "reference_groupcam.py", []string{"shapes", "resnet", "mobilenet"}, 1e-4, "choices", "elbow and spectral clustering choices"},

	// Checked against a Go formula or for properties, not a Python reference.
	{"fullgrad", "fullgrad_test.go (Go formula)", every, 1e-4, "plain", "bias sites of every architecture"},
	{"smoothgrad", "peer_cams.py (Xplique, fed tfcam's noise)", []string{"shapes", "efficientnet"}, 1e-4, "kinks", "no float64 reference: Xplique on the same noise"},
	{"smoothgradcam++", "TestNoiseMethods (properties)", nil, 0, "", "randomised: seeded determinism and noise properties"},
}

// smoothingRows: eigen_smooth and aug_smooth (reference_smooth.py) on
// Grad-CAM, LayerCAM and Score-CAM.
var smoothingFixtures = []string{"shapes", "efficientnet", "vit"}

// peerFixtures are the fixtures TestMethodsMatchThirdParty compares with
// tf-keras-vis and Xplique on: the question there is whether tfcam's
// variant is the peer's, answered on a trained ReLU/max-pool CNN and a
// SiLU/depthwise net (the peers have no token layers, and Xplique fails on
// float16); each method's formula is held to its own reference on its
// row's fixtures.
var peerFixtures = []string{"shapes", "efficientnet"}

// parityRowOf returns method's row.
func parityRowOf(method string) (parityRow, bool) {
	for _, r := range parityTable {
		if r.method == method {
			return r, true
		}
	}
	return parityRow{}, false
}

// parityOn reports whether method is compared on fixture name.
func parityOn(method, name string) bool {
	r, ok := parityRowOf(method)
	if !ok {
		return false
	}
	return slices.Equal(r.fixtures, every) || slices.Contains(r.fixtures, name)
}

// parityFixtures are the fixtures a parity test with reference script ref
// must run: the union of its rows' fixtures, every built one for a sweep.
func parityFixtures(t testing.TB, ref string) []string {
	t.Helper()
	set := map[string]bool{}
	for _, r := range parityTable {
		if r.ref != ref {
			continue
		}
		if slices.Equal(r.fixtures, every) {
			return fixture.Names(t)
		}
		for _, f := range r.fixtures {
			set[f] = true
		}
	}
	if len(set) == 0 {
		t.Fatalf("no parity row has reference %s", ref)
	}
	var out []string
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// TestParityTableCoversRegistry: every registered method has a row, and
// every row names a registered method.
func TestParityTableCoversRegistry(t *testing.T) {
	rows := map[string]bool{}
	for _, r := range parityTable {
		if rows[r.method] {
			t.Errorf("method %s has two rows", r.method)
		}
		rows[r.method] = true
		if r.fixtures != nil && r.tol <= 0 {
			t.Errorf("%s: compared without a tolerance", r.method)
		}
	}
	names := map[string]bool{}
	for _, in := range Methods() {
		names[in.Name] = true
		if !rows[in.Name] {
			t.Errorf("registered method %s has no row in the parity table", in.Name)
		}
	}
	for m := range rows {
		if !names[m] {
			t.Errorf("parity row %s names no registered method", m)
		}
	}
}

// roundingTerms is the rounding term of each image's map j of res for
// method's row (see parityRow): per image, 0 for plain and kinks rows. An
// image whose term exceeds fixture.IllConditioned fails t: that fixture
// cannot check the method, and the table must not list it.
func roundingTerms(t testing.TB, name, method string, res []Result, j int) []float64 {
	t.Helper()
	r, _ := parityRowOf(method)
	terms := make([]float64, len(res))
	for i, re := range res {
		m := re.Maps[0][j]
		if r.rounding != "scores" && r.rounding != "map" {
			continue
		}
		if m.Raw == nil {
			t.Fatalf("%s %s: the %s rounding term needs Config.Raw", name, method, r.rounding)
		}
		scale := fixture.MaxAbs(m.Raw)
		if r.rounding == "scores" {
			scale = float64(m.Score)
		}
		span := fixture.Span(m.Raw)
		terms[i] = fixture.RoundingTerm(scale, span)
		if terms[i] > fixture.IllConditioned {
			t.Errorf("%s image %d: %s is ill-conditioned here (scale %.3g over a raw range of %.3g: rounding alone moves the normalised map by up to %.2g > %g); take %s out of its parity row",
				method, i, name, scale, span, terms[i], fixture.IllConditioned, name)
		}
	}
	return terms
}

// checkConditioned compares per-image normalised maps got and ref (the
// images' maps one after another, equal sizes) within tol + terms[i] on
// image i (roundingTerms).
func checkConditioned(t testing.TB, what string, got, ref []float32, terms []float64, tol float64) {
	t.Helper()
	n := len(terms)
	if len(got) != len(ref) || n == 0 || len(got)%n != 0 {
		t.Errorf("%s: %d values against the reference's %d (%d images)", what, len(got), len(ref), n)
		return
	}
	per := len(got) / n
	worst, worstTerm := 0.0, 0.0
	for i := 0; i < n; i++ {
		d := fixture.MaxAbsDiff(got[i*per:(i+1)*per], ref[i*per:(i+1)*per])
		if math.IsNaN(d) || d > tol+terms[i] {
			t.Errorf("%s image %d: max |go - reference| = %.3g > %g + rounding term %.2g", what, i, d, tol, terms[i])
		}
		if d > worst {
			worst, worstTerm = d, terms[i]
		}
	}
	t.Logf("%s: max |go - reference| = %.2g (tolerance %g + rounding term %.2g there)", what, worst, tol, worstTerm)
}
