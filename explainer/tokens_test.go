package explainer

import (
	"context"
	"errors"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/tfgraph"
)

// TestMethodsThatDoNotApply: on the vit fixture's default layer (a token
// layer inside a residual block, no GAP + Dense head) CAM and Ablation-CAM
// do not apply; they are left out with a NotApplicableError and the other
// methods' maps are still made. With only them, New fails.
func TestMethodsThatDoNotApply(t *testing.T) {
	f, m := loadModel(t, "vit")
	e, err := New(m, Config{Methods: []Method{CAM{}, GradCAM{}, AblationCAM{}, HiResCAM{}}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mt := range e.Methods() {
		names = append(names, mt.Name())
	}
	if len(names) != 2 || names[0] != "gradcam" || names[1] != "hirescam" {
		t.Fatalf("methods %v, want [gradcam hirescam]", names)
	}
	skipped := map[string]bool{}
	for _, na := range e.Skipped() {
		if !errors.Is(na, ErrNotApplicable) {
			t.Errorf("%v is not ErrNotApplicable", na)
		}
		skipped[na.Method] = true
		t.Log(na)
	}
	if !skipped["cam"] || !skipped["ablationcam"] || len(skipped) != 2 {
		t.Errorf("skipped %v, want cam and ablationcam", skipped)
	}
	in := f.Array(t, "inputs")
	res, err := e.Explain(context.Background(), Batch{in.F32, in.Shape[0]}, Top1())
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if len(r.Maps[0]) != 2 || r.Maps[0][0].Method != "gradcam" || r.Maps[0][1].Method != "hirescam" {
			t.Fatalf("image %d: maps %+v", i, r.Maps[0])
		}
	}
	if _, err := New(m, Config{Methods: []Method{CAM{}}}); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("New with CAM alone: %v, want ErrNotApplicable", err)
	}
	// On a GAP + Dense head CAM applies.
	_, e2 := newExplainer(t, "resnet", Config{Methods: []Method{CAM{}, AblationCAM{}}})
	if len(e2.Methods()) != 2 || len(e2.Skipped()) != 0 {
		t.Errorf("resnet: methods %v, skipped %v", e2.Methods(), e2.Skipped())
	}
}

// TestFlatMaps: at the vit fixture's final norm only the class token
// reaches the head (the patch tokens are cut off by Cropping1D), so the
// class score's gradient on every patch token is exactly zero: Grad-CAM
// and HiRes-CAM are all zeros there, and Ablation-CAM, which re-runs the
// head with each channel of the patch tokens zeroed and the class token
// restored, sees no change (y_k = y), so its weights are zero too. At the
// default layer the same methods carry signal.
func TestFlatMaps(t *testing.T) {
	f, m := loadModel(t, "vit")
	in := f.Array(t, "inputs")
	methods := []Method{GradCAM{}, HiResCAM{}, AblationCAM{}}
	for _, c := range []struct {
		layer string
		flat  bool
	}{{"final_norm", true}, {"", false}} {
		e, err := New(m, Config{Layer: c.layer, Methods: methods, Raw: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Explain(context.Background(), Batch{in.F32, in.Shape[0]}, Top1())
		if err != nil {
			t.Fatal(err)
		}
		applied := len(e.Methods())
		if c.layer == "final_norm" && applied != 3 {
			t.Fatalf("final_norm: %d methods apply, want 3 (skipped %v)", applied, e.Skipped())
		}
		for i, r := range res {
			for _, mp := range r.Maps[0] {
				if mp.Flat != c.flat {
					lo, hi := mp.Raw[0], mp.Raw[0]
					for _, v := range mp.Raw {
						lo, hi = min(lo, v), max(hi, v)
					}
					t.Errorf("layer %q image %d %s: Flat = %v, want %v (raw range %g..%g)", c.layer, i, mp.Method, mp.Flat, c.flat, lo, hi)
				}
			}
		}
	}
}

// TestTokensOnSpatialLayer: token settings for a spatial layer are a
// mistake, reported as ErrTokenGrid.
func TestTokensOnSpatialLayer(t *testing.T) {
	_, m := loadModel(t, "vit")
	_, err := New(m, Config{Layer: "patch_embed", Tokens: tfgraph.Tokens{Drop: 1}, Methods: []Method{GradCAM{}}})
	if !errors.Is(err, tfgraph.ErrTokenGrid) {
		t.Fatalf("got %v, want ErrTokenGrid", err)
	}
}

// TestFlatness checks the flat-map criterion on hand-made maps: a range
// within float32 rounding of the magnitude is flat, whatever the
// magnitude; a tiny map with a real relative range is not. It also
// checks where each map's 0 falls once min–max scaled (Map.Zero).
func TestFlatness(t *testing.T) {
	ulp := float32(1.0 / (1 << 23))
	cases := []struct {
		name string
		m    [4]float32
		flat bool
		zero float32 // where 0 falls after min–max scaling
	}{
		{"all zeros", [4]float32{0, 0, 0, 0}, true, 0},
		{"a few ulps at 1", [4]float32{1, 1 + 3*ulp, 1, 1 - ulp}, true, 0},
		{"1e-6 relative at 100", [4]float32{100, 100.0001, 100, 100}, true, 0},
		{"tiny but varying", [4]float32{1e-20, 2e-20, 0, 1e-20}, false, 0},
		{"1e-3 at 1", [4]float32{0, 1e-3, 0, 0}, false, 0},
		{"negative, 2e-4 relative", [4]float32{-5, -5 + 1e-3, -5, -5}, false, 1},
		{"signed, a quarter below zero", [4]float32{-1, 3, 0, 1}, false, 0.25},
		{"signed, three quarters below zero", [4]float32{-3, 1, 0, 0}, false, 0.75},
	}
	s := op.NewScope()
	e := &Explainer{root: s}
	maps := op.Placeholder(s.SubScope("maps"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, 1, 4)))
	stats := e.mapStats(maps)
	sess := newSession(t, s)
	in := make([][1][4]float32, len(cases))
	for i, c := range cases {
		in[i][0] = c.m
	}
	feed, err := tf.NewTensor(in)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sess.Run(map[tf.Output]*tf.Tensor{maps: feed}, []tf.Output{stats}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := res[0].Value().([][]float32)
	for i, c := range cases {
		if (got[i][0] != 0) != c.flat {
			t.Errorf("%s %v: flat = %v, want %v", c.name, c.m, got[i][0] != 0, c.flat)
		}
		if d := got[i][1] - c.zero; d > 1e-6 || d < -1e-6 {
			t.Errorf("%s %v: zero at %v, want %v", c.name, c.m, got[i][1], c.zero)
		}
	}
}
