package explainer

import (
	"context"
	"math"
	"strings"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
)

// scaledGradCAM is an embedder's own weight method, written only with
// exported API: Grad-CAM's weights times Scale.
type scaledGradCAM struct {
	Scale float64
}

func (scaledGradCAM) Name() string { return "scaled-gradcam" }
func (scaledGradCAM) Needs() Needs { return Needs{LayerGrad: true} }
func (m scaledGradCAM) Weights(o *Ops, t Tensors) (tf.Output, error) {
	m = Resolve(m)
	return o.Mul(o.SpatialMean(t.G), o.Const(float32(m.Scale))), nil
}

// twoKinds is both a weight method and a map method: no kind.
type twoKinds struct{ scaledGradCAM }

func (twoKinds) Name() string                               { return "two-kinds" }
func (twoKinds) InputResolution() bool                      { return false }
func (twoKinds) Build(o *Ops, t Tensors) (tf.Output, error) { return o.ChannelSum(t.A), nil }
func (noKind) Name() string                                 { return "no-kind" }
func (noKind) Needs() Needs                                 { return Needs{} }

type noKind struct{}

// TestMethodOfYourOwn: the registry is open. A weight method registered
// from outside tfcam's files is parsed with its options, listed, takes
// eigen_smooth, and its map is built by the base from its weights alone:
// with weights 4·mean(g), the raw map is 4× Grad-CAM's and the normalised
// map Grad-CAM's — exactly, since scaling by a power of two is exact in
// floating point and every step (product, sum, ReLU, bilinear upsampling,
// min–max) commutes with it; 1e-6 is left for a kernel that would order
// the two maps' reductions differently — and under eigen_smooth its
// principal component is Grad-CAM's (the SVD of an exactly scaled
// matrix; 1e-3 leaves room for LAPACK rounding differently inside, which
// moves the component by rounding/spectral gap). Methods of no kind or two kinds are
// refused by Register and New.
func TestMethodOfYourOwn(t *testing.T) {
	Register(Spec[scaledGradCAM]{
		Name: "scaled-gradcam", Family: FamilyMore, Order: 1000,
		Summary: "Grad-CAM's weights times scale",
		Options: []Option{{Name: "scale", Default: 1.0, Min: 0.001, Max: 1000, Doc: "factor on the weights"}},
	})
	t.Cleanup(func() { unregister("scaled-gradcam") })

	in, ok := Describe("scaled-gradcam")
	if !ok || !in.EigenSmooth || !in.AugSmooth || in.Family != FamilyMore {
		t.Fatalf("Describe(scaled-gradcam) = %+v, %v: want it listed, taking eigen_smooth and aug_smooth", in, ok)
	}
	if _, err := ParseMethods("scaled-gradcam:scale=5000"); err == nil || !strings.Contains(err.Error(), "scale") {
		t.Errorf("scale=5000 (Max 1000): error %v, want an option error", err)
	}
	mine, err := ParseMethods("scaled-gradcam:scale=4")
	if err != nil {
		t.Fatal(err)
	}
	mineEigen, err := ParseMethods("scaled-gradcam:scale=4:eigen_smooth=true")
	if err != nil {
		t.Fatal(err)
	}
	gradEigen, _ := ParseMethods("gradcam:eigen_smooth=true")

	ctx := context.Background()
	f, plain := newExplainer(t, "shapes", Config{Methods: []Method{GradCAM{}, mine[0]}, Raw: true})
	_, eig := newExplainer(t, "shapes", Config{Methods: []Method{gradEigen[0], mineEigen[0]}})
	in4 := f.Array(t, "inputs")
	batch := Batch{in4.F32, in4.Shape[0]}
	res, err := plain.Explain(ctx, batch, TopK(1))
	if err != nil {
		t.Fatal(err)
	}
	eres, err := eig.Explain(ctx, batch, TopK(1))
	if err != nil {
		t.Fatal(err)
	}
	for i := range res {
		g, m := res[i].Maps[0][0], res[i].Maps[0][1]
		if m.Method != "scaled-gradcam" {
			t.Fatalf("map 1 is %q", m.Method)
		}
		scale := 0.0
		for _, v := range g.Raw {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for p := range g.Raw {
			if d := math.Abs(float64(m.Raw[p]) - 4*float64(g.Raw[p])); d > 1e-6*4*scale {
				t.Fatalf("image %d pixel %d: raw %g, want 4×%g", i, p, m.Raw[p], g.Raw[p])
			}
			if d := math.Abs(float64(m.Normalized[p] - g.Normalized[p])); d > 1e-6 {
				t.Fatalf("image %d pixel %d: normalised %g, Grad-CAM's %g", i, p, m.Normalized[p], g.Normalized[p])
			}
		}
		ge, me := eres[i].Maps[0][0], eres[i].Maps[0][1]
		for p := range ge.Normalized {
			if d := math.Abs(float64(me.Normalized[p] - ge.Normalized[p])); d > 1e-3 {
				t.Fatalf("eigen_smooth, image %d pixel %d: %g, Grad-CAM's %g", i, p, me.Normalized[p], ge.Normalized[p])
			}
		}
	}

	for _, m := range []Method{twoKinds{}, noKind{}} {
		if err := Validate(m); err == nil || !strings.Contains(err.Error(), "exactly one of") {
			t.Errorf("Validate(%s): %v, want a refusal naming the kinds", m.Name(), err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%s) did not panic", m.Name())
				}
			}()
			switch m := m.(type) {
			case twoKinds:
				Register(Spec[twoKinds]{Name: m.Name(), Family: FamilyMore, Order: 1001, Proto: m})
			case noKind:
				Register(Spec[noKind]{Name: m.Name(), Family: FamilyMore, Order: 1002, Proto: m})
			}
		}()
	}
}
