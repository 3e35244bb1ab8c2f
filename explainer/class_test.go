package explainer

import (
	"errors"
	"strings"
	"testing"
)

func TestParseClass(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    Class
		wantErr bool
	}{
		{"", Class{TopK: 1}, false},
		{"top1", Class{TopK: 1}, false},
		{" TOP3 ", Class{TopK: 3}, false},
		{"0", Class{Index: 0}, false},
		{"281", Class{Index: 281}, false},
		{"top0", Class{}, true},
		{"-1", Class{}, true},
		{"top-1", Class{}, true},
		// Any other word is a label, looked up later (Named).
		{"top", Class{Label: "top"}, false},
		{" Tiger Cat ", Class{Label: "Tiger Cat"}, false},
		{"1.5", Class{Label: "1.5"}, false},
	} {
		got, err := ParseClass(c.in)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("ParseClass(%q) = %+v, %v; want %+v, error %v", c.in, got, err, c.want, c.wantErr)
		}
		if err != nil && !errors.Is(err, ErrClass) {
			t.Errorf("ParseClass(%q): %v does not wrap ErrClass", c.in, err)
		}
		if err == nil {
			if back, _ := ParseClass(got.String()); back != got {
				t.Errorf("%+v.String() = %q reads back as %+v", got, got.String(), back)
			}
		}
	}
}

func TestClassCheckAndTargets(t *testing.T) {
	for _, c := range []struct {
		class   Class
		n       int
		wantErr bool
	}{
		{Class{TopK: 4}, 4, false}, {Class{TopK: 5}, 4, true},
		{Class{Index: 3}, 4, false}, {Class{Index: 4}, 4, true},
		{Class{Label: "cat"}, 4, true}, // unresolved
	} {
		if err := c.class.Check(c.n); (err != nil) != c.wantErr {
			t.Errorf("%+v.Check(%d) = %v, want error %v", c.class, c.n, err, c.wantErr)
		}
	}
	if got := (Class{TopK: 2}).Targets(3); got.k != 2 || got.classes != nil {
		t.Errorf("top2 targets %+v", got)
	}
	if got := (Class{Index: 7}).Targets(3); got.k != 1 || len(got.classes) != 3 || got.classes[0] != 7 || got.classes[2] != 7 {
		t.Errorf("class 7 targets for 3 images %+v", got)
	}
}

// TestClassNamed: a label names the one class whose label it is, case and
// spaces aside; an unknown or shared label is refused with the close
// labels and their indices.
func TestClassNamed(t *testing.T) {
	labels := []string{"tabby", "tiger cat", "Persian cat", "crane", "tiger", "crane"}
	for _, c := range []struct {
		label   string
		want    int
		wantErr []string // substrings of the error
	}{
		{label: "tiger cat", want: 1},
		{label: " TIGER CAT ", want: 1},
		{label: "persian cat", want: 2},
		{label: "tigercat", wantErr: []string{`"tiger cat" (1)`}},
		{label: "cat", wantErr: []string{`"tiger cat" (1)`, `"Persian cat" (2)`}},
		{label: "crane", wantErr: []string{"classes 3, 5"}},
		{label: "zebra", wantErr: []string{"no class has this label"}},
	} {
		got, err := Class{Label: c.label}.Named(labels)
		if c.wantErr == nil {
			if err != nil || got != (Class{Index: c.want}) {
				t.Errorf("%q: got %+v, %v; want class %d", c.label, got, err, c.want)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrClass) {
			t.Errorf("%q: got %+v, %v; want an ErrClass", c.label, got, err)
			continue
		}
		for _, w := range c.wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not say %s", c.label, err, w)
			}
		}
	}
	if _, err := (Class{Label: "cat"}).Named(nil); err == nil {
		t.Error("a label without labels was taken")
	}
	if got, err := (Class{TopK: 2}).Named(nil); err != nil || got != (Class{TopK: 2}) {
		t.Errorf("top2 without labels: %+v, %v", got, err)
	}
}
