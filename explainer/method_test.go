package explainer

import (
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
		{spec: "", wantErr: "no method given"},
		{spec: "gradcam:steps=3", wantErr: `unknown option "steps": gradcam has no options`},
		{spec: "integrated-gradients:stepz=3", wantErr: `unknown option "stepz" (integrated-gradients has: steps, baseline)`},
		{spec: "integrated-gradients:steps=many", wantErr: `steps="many": want an integer`},
		{spec: "smoothgrad:noise=NaN", wantErr: "want a number"},
		{spec: "scorecam:baseline", wantErr: "want key=value"},
		{spec: "scorecam,scorecam:baseline=blur", wantErr: `"scorecam" and "scorecam:baseline=blur" are both method scorecam`},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			got, err := ParseMethods(c.spec)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
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
