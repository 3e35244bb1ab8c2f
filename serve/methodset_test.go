package serve

import "testing"

// TestMethodSetCanonical: lists that run the same methods are one list
// (one explainer, one of --max-method-lists); order and settings still
// tell lists apart.
func TestMethodSetCanonical(t *testing.T) {
	spec := func(s string) string {
		t.Helper()
		ms, err := parseMethodSet(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return ms.spec
	}
	for _, same := range [][]string{
		{"gradcam", "gradcam,gradcam", " GradCAM ", "gradcam,gradcam,gradcam"},
		{"gradcam,hirescam", "gradcam,hirescam,gradcam", "gradcam,hirescam,hirescam"},
	} {
		for _, s := range same[1:] {
			if spec(s) != spec(same[0]) {
				t.Errorf("%q → %q, %q → %q: want one list", s, spec(s), same[0], spec(same[0]))
			}
		}
	}
	for _, differ := range [][2]string{
		{"gradcam,hirescam", "hirescam,gradcam"}, // map order differs
		{"integrated-gradients", "integrated-gradients:steps=8"},
	} {
		if spec(differ[0]) == spec(differ[1]) {
			t.Errorf("%q and %q are one list %q, want two", differ[0], differ[1], spec(differ[0]))
		}
	}
	if ms, _ := parseMethodSet("gradcam,gradcam"); len(ms.methods) != 1 {
		t.Errorf("gradcam,gradcam runs %d methods, want 1", len(ms.methods))
	}
}
