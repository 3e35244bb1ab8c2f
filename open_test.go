package tfcam_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/internal/fixture"
)

// TestOpenLabels: labels must name exactly the model's classes; one too
// few or one too many (an off-by-one file) is refused with ErrLabels,
// naming both counts.
func TestOpenLabels(t *testing.T) {
	f := fixture.Load(t, "shapes")
	m, err := tfcam.Open(f.ModelDir, tfcam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	classes := int(m.TF.Output.Shape[1])
	m.Close()
	names := func(n int) []string {
		var l []string
		for i := range n {
			l = append(l, fmt.Sprintf("class %d", i))
		}
		return l
	}
	for _, n := range []int{classes - 1, classes, classes + 1} {
		m, err := tfcam.Open(f.ModelDir, tfcam.Options{Labels: names(n)})
		switch {
		case n == classes && err != nil:
			t.Errorf("%d labels for %d classes: %v", n, classes, err)
		case n != classes && !errors.Is(err, tfcam.ErrLabels):
			t.Errorf("%d labels for %d classes: %v, want ErrLabels", n, classes, err)
		case n != classes && err != nil && !containsAll(err.Error(), fmt.Sprintf("%d labels", n), fmt.Sprintf("%d classes", classes)):
			t.Errorf("the error %q does not give both counts", err)
		}
		if err == nil {
			m.Close()
		}
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
