package suggest

import (
	"slices"
	"testing"
)

// TestClosest: near misses and words a name contains are suggested,
// closest first; names far from everything are not.
func TestClosest(t *testing.T) {
	names := []string{"gradcam", "xgradcam", "scorecam", "rise", "tiger cat", "Persian cat"}
	for _, c := range []struct {
		name string
		want []string
	}{
		{"grad-cam", []string{"gradcam", "xgradcam"}},
		{"GradCAM", []string{"gradcam", "xgradcam"}},
		{"tigercat", []string{"tiger cat"}},
		{"cat", []string{"tiger cat", "Persian cat"}},
		{"zebra", nil},
		{"", nil},
	} {
		if got := Closest(c.name, names, 3); !slices.Equal(got, c.want) {
			t.Errorf("Closest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}
