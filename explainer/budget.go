package explainer

import "fmt"

// maxRunElements bounds the largest activation tensor of one Session.Run.
// TensorFlow's CPU kernels index some tensors with 32-bit integers: past
// 2³¹ elements they crash the process instead of returning an error (seen:
// Score-CAM on EfficientNet-Lite0, 2 images × 1280 masked copies → a
// 2560×112×112×96 tensor, SIGSEGV). Explain splits a batch into runs that
// stay below this bound (or Config.MaxTensorElements), and methods that run
// many copies of one image run them in sequential chunks (Context.chunked).
const maxRunElements = 1<<31 - 1

// expander is implemented by methods that run the model on several modified
// copies of each image.
type expander interface {
	// copies is the number of forward passes per image for a layer of k
	// channels; tail reports that they run only the layers after the target.
	copies(k int) (n int, tail bool)
}

// sizedExpander is an expander whose copies depend on the input's size
// (Occlusion: one per patch position).
type sizedExpander interface {
	copiesAt(h, w, k int) (n int, tail bool)
}

// copiesOf is m's copies per image and whether they are tail copies, for
// this explainer's layer and input; ok is false for a method without copies.
func (e *Explainer) copiesOf(m Method) (n int, tail, ok bool) {
	switch x := m.(type) {
	case sizedExpander:
		n, tail = x.copiesAt(e.h, e.w, e.k)
		return n, tail, true
	case expander:
		n, tail = x.copies(e.k)
		return n, tail, true
	}
	return 0, false, false
}

func (m ScoreCAM) copies(k int) (int, bool) {
	if m.TopN > 0 && m.TopN < k {
		k = m.TopN
	}
	if m.Baseline != "" && m.Baseline != "none" {
		k++
	}
	return k, false
}
func (AblationCAM) copies(k int) (int, bool) { return k, true }
func (m SmoothGrad) copies(int) (int, bool) {
	n, _ := m.params()
	return n, false
}
func (m SmoothGradCAMPlusPlus) copies(int) (int, bool) {
	n, _ := SmoothGrad{Samples: m.Samples, Noise: m.Noise}.params()
	return n, false
}
func (m SquareGrad) copies(int) (int, bool) {
	n, _ := SmoothGrad(m).params()
	return n, false
}
func (m VarGrad) copies(int) (int, bool) {
	n, _ := SmoothGrad(m).params()
	return n, false
}
func (m RISE) copies(int) (int, bool) {
	n, _, _ := m.params()
	return n, false
}
func (m SSCAM) copies(k int) (int, bool) {
	n, _ := m.params()
	return n * k, false
}
func (m ISCAM) copies(k int) (int, bool)      { return m.samples() * k, false }
func (m GradientSHAP) copies(int) (int, bool) { return m.samples(), false }

// copiesAt: one forward pass per patch position.
func (m Occlusion) copiesAt(h, w, _ int) (int, bool) {
	return max(1, len(m.anchors(h))*len(m.anchors(w))), false
}
func (m IntegratedGradients) copies(int) (int, bool) {
	if m.Steps < 2 {
		return 32, false
	}
	return m.Steps, false
}
func (m GroupCAM) copies(k int) (int, bool) {
	g, _ := groupSizes(k, m.Groups)
	return g + 1, false
}
func (m ClusterCAM) copies(k int) (int, bool) {
	n, _ := clusterParams(m.Clusters, m.Iterations, 10, k)
	return n, false
}
func (m CosineCAM) copies(k int) (int, bool) {
	n, _ := cosineLayout(m.Groups, k) // max_groups slots when the elbow chooses
	return n + 1, false
}

// DefaultMaxTensorElements is Config.MaxTensorElements's default: 2²⁸
// values, 1 GiB of float32. Perturbation methods then hold a few GiB at most
// (a GPU's memory), and on CPU the chunked runs were not slower (Score-CAM,
// 160 px ResNet, 16 images: 26 s at 16 MiB vs 28 s unbounded; peak RSS
// 0.6 vs 3.6 GB).
const DefaultMaxTensorElements = 1 << 28

// budget is the largest activation tensor allowed, in values.
func (e *Explainer) budget() int64 {
	b := e.cfg.MaxTensorElements
	if b <= 0 {
		b = DefaultMaxTensorElements
	}
	return min(b, maxRunElements)
}

// copyCost is, for a method that runs copies of each image, the number of
// copies per image and the values one copy adds to the largest activation
// tensor (a tail copy runs only the layers after the target).
func (e *Explainer) copyCost(m Method) (copies int, unit int64) {
	k := e.k
	full := e.fw.MaxActivation()
	c, tail, _ := e.copiesOf(m)
	if tail {
		return c, max(int64(e.lh*e.lw*k), full/4) // the tail is smaller than the whole
	}
	return c, full
}

// chunks is how many sequential parts the copies of one image need so that
// each part stays within the budget (1: no chunking).
func (e *Explainer) chunks(m Method) int {
	if _, _, ok := e.copiesOf(m); !ok {
		return 1
	}
	c, unit := e.copyCost(m)
	if unit <= 0 || int64(c)*unit <= e.budget() {
		return 1
	}
	per := max(1, int(e.budget()/unit)) // copies per part
	return (c + per - 1) / per
}

// imagesPerRun is how many images one Session.Run may take so that no
// activation tensor exceeds the budget: the model's own forward pass, and
// each expanding method's largest chunk of copies (per image: its copies
// divided among its chunks).
func (e *Explainer) imagesPerRun(n int) (int, error) {
	full := e.fw.MaxActivation()
	worst, who := full, "the model itself"
	fit := n
	k := e.k
	for _, m := range e.methods {
		_, tail, ok := e.copiesOf(m)
		if !ok {
			continue
		}
		c, unit := e.copyCost(m)
		chunks := e.chunks(m)
		if per := int64((c+chunks-1)/chunks) * unit; per > worst {
			worst, who = per, m.Name()
		}
		// The copies' inputs (masked images, ablated activations) are
		// built whole before the chunks split them: keep them below
		// TensorFlow's limit too.
		in := int64(e.h * e.w * e.inputChannels())
		if tail {
			in = int64(e.lh * e.lw * k)
		}
		fitIn := int(maxRunElements / (int64(c) * in))
		if fitIn < 1 {
			return 0, fmt.Errorf("explainer: %s's %d copies of one image (%d values each) exceed what TensorFlow can index in one tensor (%d); use fewer copies (faster-scorecam, fewer samples/steps) or an earlier --layer", m.Name(), c, in, int64(maxRunElements))
		}
		fit = min(fit, fitIn)
	}
	if worst <= 0 {
		return fit, nil
	}
	f := int(e.budget() / worst)
	if f < 1 {
		return 0, fmt.Errorf("explainer: %s needs activation tensors of %d values for one image, more than the limit of %d (TensorFlow's, or Config.MaxTensorElements / --max-tensor-mb); raise the limit, or use an earlier --layer", who, worst, e.budget())
	}
	return min(fit, f), nil
}

// inputChannels is the model input's channel count.
func (e *Explainer) inputChannels() int {
	_, _, c := e.model.InputSize()
	return c
}
