package explainer

import (
	"errors"
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
		{"top", Class{}, true},
		{"-1", Class{}, true},
		{"cat", Class{}, true},
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
