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
	// Ctx reaches the model for methods that need more (perturbations,
	// noise, paths, head weights).
	Ctx *Context
}

// signedMethod is implemented by methods whose maps keep their sign
// (attributions): the shared ReLU is skipped for them.
type signedMethod interface{ Signed() bool }

func isSigned(m Method) bool {
	s, ok := m.(signedMethod)
	return ok && s.Signed()
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

// All returns the gradient-based family (one forward and one backward pass
// shared by all): the methods `--method all` selects.
func All() []Method {
	return []Method{
		GradCAM{}, GradCAMPlusPlus{}, GradCAMPlusPlus{NormalizeAlpha: true}, HiResCAM{}, XGradCAM{}, LayerCAM{}, EigenCAM{},
		GuidedBackprop{}, GuidedGradCAM{},
	}
}

// Registry returns every method by its default settings: All plus the ones
// that run the model on many modified copies of each image (Score-CAM,
// Ablation-CAM, SmoothGrad, Integrated Gradients, Smooth Grad-CAM++), the
// plain gradient and CAM (which needs a GAP + Dense head).
func Registry() []Method {
	return append(All(),
		Saliency{}, SmoothGrad{}, IntegratedGradients{}, SmoothGradCAMPlusPlus{}, CAM{},
		AblationCAM{}, ScoreCAM{}, ScoreCAM{TopN: 10},
		GroupCAM{}, ClusterCAM{}, CosineCAM{})
}

// ParseMethods parses a comma-separated list of method names ("all" for
// every method).
func ParseMethods(list string) ([]Method, error) {
	byName := map[string]Method{}
	var names []string
	for _, m := range Registry() {
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
