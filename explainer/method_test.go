package explainer

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseMethods(t *testing.T) {
	cases := []struct {
		spec    string
		want    []Method
		wantErr string
	}{
		{spec: "gradcam", want: []Method{GradCAM{}}},
		{spec: " GradCAM , hirescam,gradcam", want: []Method{GradCAM{}, HiResCAM{}}},
		{spec: "integrated-gradients:steps=64:baseline=Blur", want: []Method{IntegratedGradients{Steps: 64, Baseline: "blur"}}},
		{spec: "scorecam:variant=softmax", want: []Method{ScoreCAM{Variant: "softmax"}}},
		{spec: "scorecam:baseline=zero,faster-scorecam:topn=20", want: []Method{ScoreCAM{Baseline: "zero"}, ScoreCAM{TopN: 20}}},
		{spec: "smoothgrad:samples=8:noise=0.25", want: []Method{SmoothGrad{Samples: 8, Noise: 0.25}}},
		{spec: "gradcam++:normalizealpha=true", want: []Method{GradCAMPlusPlus{NormalizeAlpha: true}}},
		{spec: "all", want: All()},
		{spec: "nope", wantErr: `unknown method "nope"`},
		{spec: "Grad-CAM", wantErr: `unknown method "Grad-CAM" (did you mean "gradcam"`},
		{spec: "", wantErr: "no method given"},
		{spec: "gradcam:steps=3", wantErr: `unknown option "steps": gradcam has no options`},
		{spec: "integrated-gradients:stepz=3", wantErr: `unknown option "stepz" (integrated-gradients has: steps, baseline)`},
		{spec: "integrated-gradients:steps=many", wantErr: `steps="many": want an integer`},
		{spec: "smoothgrad:noise=NaN", wantErr: "want a number"},
		{spec: "scorecam:baseline", wantErr: "want key=value"},
		{spec: "scorecam,scorecam:baseline=blur", wantErr: `"scorecam" and "scorecam:baseline=blur" are both method scorecam`},
		// "all" expands in place and keeps the methods around it.
		{spec: "scorecam,all", want: append([]Method{ScoreCAM{}}, All()...)},
		{spec: "all,gradcam,saliency", want: append(All(), Saliency{})},
		{spec: "all:steps=3", wantErr: "all takes no options"},
		// Every option value is checked at parse time, before a model loads.
		{spec: "integrated-gradients:steps=-4", wantErr: "method integrated-gradients: option steps=-4: want 0 (the default) or 2 to 1048576"},
		{spec: "integrated-gradients:steps=1", wantErr: "option steps=1: want 0 (the default) or 2"},
		{spec: "integrated-gradients:steps=2", want: []Method{IntegratedGradients{Steps: 2}}},
		{spec: "integrated-gradients:steps=99999999999", wantErr: "option steps=99999999999"},
		{spec: "integrated-gradients:baseline=gray", wantErr: `option baseline="gray": want zero, blur, noise`},
		{spec: "scorecam:variant=bogus", wantErr: `method scorecam: option variant="bogus": want prob, softmax`},
		{spec: "scorecam:baseline=mean", wantErr: `option baseline="mean": want none, zero, blur`},
		{spec: "scorecam:upsample=nearest", wantErr: `option upsample="nearest": want half-pixel, corners`},
		{spec: "scorecam:variant=softmax:baseline=blur", wantErr: "option baseline=blur: want none with variant softmax"},
		{spec: "scorecam:variant=softmax:baseline=none", want: []Method{ScoreCAM{Variant: "softmax", Baseline: "none"}}},
		{spec: "faster-scorecam:topn=-1", wantErr: "method faster-scorecam: option topn=-1"},
		{spec: "smoothgrad:samples=-1", wantErr: "method smoothgrad: option samples=-1: want 0 (the default) or 1"},
		{spec: "smoothgrad:noise=-1", want: []Method{SmoothGrad{Noise: -1}}}, // documented: no noise
		{spec: "smoothgradcam++:samples=-3", wantErr: "method smoothgradcam++: option samples=-3"},
		{spec: "groupcam:groups=-2", wantErr: "method groupcam: option groups=-2"},
		{spec: "clustercam:clusters=-1", wantErr: "method clustercam: option clusters=-1"},
		{spec: "clustercam:iterations=-1", wantErr: "method clustercam: option iterations=-1"},
		{spec: "cosinecam:groups=-1", wantErr: "method cosinecam: option groups=-1"},
		{spec: "cosinecam:iterations=-5", wantErr: "method cosinecam: option iterations=-5"},
		{spec: "cosinecam:groups=4:iterations=3", want: []Method{CosineCAM{Groups: 4, Iterations: 3}}},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			got, err := ParseMethods(c.spec)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				if strings.Contains(c.wantErr, "option ") && strings.Contains(c.wantErr, ": want ") {
					var oe *OptionError
					if !errors.As(err, &oe) {
						t.Errorf("error %v is not an *OptionError", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v, want %#v", got, c.want)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	cases := []struct {
		m    Method
		want []string
	}{
		{GradCAM{}, nil},
		{ScoreCAM{TopN: 10}, []string{"variant=", "baseline=", "upsample=", "topn=10"}},
		{IntegratedGradients{}, []string{"steps=0", "baseline="}},
	}
	for _, c := range cases {
		if got := Options(c.m); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q, want %q", c.m.Name(), got, c.want)
		}
	}
}

// TestValidateRegistry checks every method's defaults pass Validate, and
// that New refuses a bad method built in Go (not through ParseMethods)
// before it touches the model.
func TestValidateRegistry(t *testing.T) {
	for _, m := range Registry() {
		if err := Validate(m); err != nil {
			t.Errorf("%s: default settings refused: %v", m.Name(), err)
		}
	}
	if _, err := New(nil, Config{Methods: []Method{IntegratedGradients{Steps: -4}}}); err == nil || !strings.Contains(err.Error(), "steps=-4") {
		t.Errorf("New with steps=-4: %v, want the option refused", err)
	}
}
