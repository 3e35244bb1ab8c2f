package explainer

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tfcam/tfcam/internal/suggest"
)

// Class is which class of each image is explained, as `--class` and
// serve's "class" say it: the TopK best classes of each image, or the
// class Index for every image of a batch, or the class whose label is
// Label (Named turns it into an Index with the model's labels).
type Class struct {
	// TopK > 0 explains each image's TopK best classes; 0 explains Index.
	TopK  int
	Index int
	// Label, when not "", names the class by its label ("tiger cat"),
	// to be looked up with Named before use: Check refuses it unresolved.
	Label string
}

// ErrClass is wrapped by ParseClass's and Class.Check's errors.
var ErrClass = errors.New("class")

// ParseClass parses "top1", "topK" (K ≥ 1), a class index (0 or more)
// or a class label; "" is top1. Case and surrounding spaces are ignored.
// Any other word is taken as a label (Class.Label, kept as given): whether
// it names a class is known only with the model's labels (Named).
func ParseClass(s string) (Class, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		t = "top1"
	}
	if rest, ok := strings.CutPrefix(t, "top"); ok {
		if k, err := strconv.Atoi(rest); err == nil {
			if k < 1 {
				return Class{}, fmt.Errorf("%w %q: want top1, topK with K >= 1, a class index or a class label", ErrClass, s)
			}
			return Class{TopK: k}, nil
		}
	}
	c, err := strconv.Atoi(t)
	if err == nil && c < 0 {
		return Class{}, fmt.Errorf("%w %q: want top1, topK, a class index (0 or more) or a class label", ErrClass, s)
	}
	if err != nil {
		return Class{Label: strings.TrimSpace(s)}, nil
	}
	return Class{Index: c}, nil
}

// Named resolves a class given by its label with labels, the model's
// class names in index order: the label equal to c.Label ignoring case
// and surrounding spaces. A label no class has, or several classes have
// (ImageNet has two "crane"s), is an error naming the close labels with
// their indices. A class not given by label is returned as it is.
func (c Class) Named(labels []string) (Class, error) {
	if c.Label == "" {
		return c, nil
	}
	if len(labels) == 0 {
		return c, fmt.Errorf("%w %q: the scores explained have no labels to find it among; give a class index", ErrClass, c.Label)
	}
	want := strings.ToLower(strings.TrimSpace(c.Label))
	var found []int
	for i, l := range labels {
		if strings.ToLower(strings.TrimSpace(l)) == want {
			found = append(found, i)
		}
	}
	switch len(found) {
	case 1:
		return Class{Index: found[0]}, nil
	case 0:
		var hint string
		if close := suggest.Closest(c.Label, labels, 5); len(close) > 0 {
			hint = " (did you mean " + indexed(close, labels) + "?)"
		}
		return c, fmt.Errorf("%w %q: no class has this label%s; give a label as the model's labels spell it (case aside) or a class index", ErrClass, c.Label, hint)
	}
	var same []string
	for _, i := range found {
		same = append(same, strconv.Itoa(i))
	}
	return c, fmt.Errorf("%w %q: classes %s all have this label; give the index of the one you mean", ErrClass, c.Label, strings.Join(same, ", "))
}

// indexed is names, quoted, each with its index in labels: "tiger cat"
// (282).
func indexed(names, labels []string) string {
	var out []string
	for _, n := range names {
		i := slices.Index(labels, n)
		out = append(out, fmt.Sprintf("%q (%d)", n, i))
	}
	return strings.Join(out, ", ")
}

// Check refuses a class a model with n classes cannot have, and a label
// not yet resolved (Named).
func (c Class) Check(n int) error {
	if c.Label != "" {
		return fmt.Errorf("%w %q: a class label must be looked up in the model's labels first (Class.Named)", ErrClass, c.Label)
	}
	if c.TopK > n {
		return fmt.Errorf("%w top%d: the model has %d classes (topK with K in 1..%d)", ErrClass, c.TopK, n, n)
	}
	if c.TopK == 0 && c.Index >= n {
		return fmt.Errorf("%w %d: the model has %d classes (0..%d)", ErrClass, c.Index, n, n-1)
	}
	return nil
}

// Targets are the explainer's targets for a batch of n images.
func (c Class) Targets(n int) Targets {
	if c.TopK > 0 {
		return TopK(c.TopK)
	}
	cls := make([]int, n)
	for i := range cls {
		cls[i] = c.Index
	}
	return Classes(cls...)
}

// String is c as ParseClass reads it.
func (c Class) String() string {
	if c.Label != "" {
		return c.Label
	}
	if c.TopK > 0 {
		return "top" + strconv.Itoa(c.TopK)
	}
	return strconv.Itoa(c.Index)
}
