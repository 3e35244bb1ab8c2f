package explainer

import (
	"fmt"
	"sort"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
)

// Needs says which tensors a method reads, so that the explainer builds only
// the gradients somebody uses.
type Needs struct {
	// LayerGrad: gradients of the class score at the target layer.
	LayerGrad bool
	// GuidedInputGrad: guided-backpropagation gradients at the input.
	GuidedInputGrad bool
}

// Tensors are what a method builds its map from.
type Tensors struct {
	// A is the target layer's activations [N,h,w,K].
	A tf.Output
	// G is d score / d A [N,h,w,K] (when Needs.LayerGrad).
	G tf.Output
	// Guided is the guided-backprop gradient at the input [N,H,W,C] (when
	// Needs.GuidedInputGrad).
	Guided tf.Output
	// Upsample resizes a layer-resolution map [N,h,w] to the input's [N,H,W].
	Upsample func(m tf.Output) tf.Output
}

// Method is one explanation method. Build appends its ops and returns the
// map before the shared ReLU: [N,h,w] at the layer's resolution, or [N,H,W]
// at the input's when InputResolution is true.
type Method interface {
	// Name is the identifier used on the command line ("gradcam").
	Name() string
	// Needs lists the tensors Build reads.
	Needs() Needs
	// InputResolution reports whether Build's map is already at input size.
	InputResolution() bool
	// Build appends the method's ops.
	Build(o *Ops, t Tensors) (tf.Output, error)
}

// layerMethod is embedded by methods that work at the target layer.
type layerMethod struct{}

func (layerMethod) InputResolution() bool { return false }

// All returns every method, in a stable order.
func All() []Method {
	return []Method{
		GradCAM{}, GradCAMPlusPlus{}, GradCAMPlusPlus{NormalizeAlpha: true}, HiResCAM{}, XGradCAM{}, LayerCAM{}, EigenCAM{},
		GuidedBackprop{}, GuidedGradCAM{},
	}
}

// ParseMethods parses a comma-separated list of method names ("all" for
// every method).
func ParseMethods(list string) ([]Method, error) {
	byName := map[string]Method{}
	var names []string
	for _, m := range All() {
		byName[m.Name()] = m
		names = append(names, m.Name())
	}
	sort.Strings(names)
	var out []Method
	seen := map[string]bool{}
	for _, raw := range strings.Split(list, ",") {
		name := strings.ToLower(strings.TrimSpace(raw))
		if name == "" {
			continue
		}
		if name == "all" {
			return All(), nil
		}
		m, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("explainer: unknown method %q (known: %s, or all)", raw, strings.Join(names, ", "))
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("explainer: no method given (known: %s, or all)", strings.Join(names, ", "))
	}
	return out, nil
}
