package explainer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Class is which class of each image is explained, as `--class` and
// serve's "class" say it: the TopK best classes of each image, or the
// class Index for every image of a batch.
type Class struct {
	// TopK > 0 explains each image's TopK best classes; 0 explains Index.
	TopK  int
	Index int
}

// ErrClass is wrapped by ParseClass's and Class.Check's errors.
var ErrClass = errors.New("class")

// ParseClass parses "top1", "topK" (K ≥ 1) or a class index (0 or
// more); "" is top1. Case and surrounding spaces are ignored.
func ParseClass(s string) (Class, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		t = "top1"
	}
	if rest, ok := strings.CutPrefix(t, "top"); ok {
		k, err := strconv.Atoi(rest)
		if err != nil || k < 1 {
			return Class{}, fmt.Errorf("%w %q: want top1, topK with K >= 1, or a class index", ErrClass, s)
		}
		return Class{TopK: k}, nil
	}
	c, err := strconv.Atoi(t)
	if err != nil || c < 0 {
		return Class{}, fmt.Errorf("%w %q: want top1, topK or a class index (0 or more)", ErrClass, s)
	}
	return Class{Index: c}, nil
}

// Check refuses a class a model with n classes cannot have.
func (c Class) Check(n int) error {
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
	if c.TopK > 0 {
		return "top" + strconv.Itoa(c.TopK)
	}
	return strconv.Itoa(c.Index)
}
