package explainer

import "fmt"

// maxRunElements bounds the largest activation tensor of one Session.Run.
// TensorFlow's CPU kernels index some tensors with 32-bit integers: past
// 2³¹ elements they crash the process instead of returning an error (seen:
// Score-CAM on EfficientNet-Lite0, 2 images × 1280 masked copies → a
// 2560×112×112×96 tensor, SIGSEGV). Explain splits a batch into runs that
// stay below this bound and refuses, with an error, a single image that
// cannot.
const maxRunElements = 1<<31 - 1

// expander is implemented by methods that run the model on several modified
// copies of each image.
type expander interface {
	// copies is the number of forward passes per image for a layer of k
	// channels; tail reports that they run only the layers after the target.
	copies(k int) (n int, tail bool)
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

// imagesPerRun is how many images one Session.Run may take so that no
// activation tensor exceeds maxRunElements: the widest forward pass times
// the copies of the most expanding method, plus the batch itself.
func (e *Explainer) imagesPerRun(n int) (int, error) {
	k := int(e.layer.Shape[3])
	full := e.fw.MaxActivation()
	layer := int64(e.lh * e.lw * k)
	worst, who := full, "the model itself"
	for _, m := range e.cfg.Methods {
		x, ok := m.(expander)
		if !ok {
			continue
		}
		c, tail := x.copies(k)
		per := int64(c) * full
		if tail {
			per = int64(c) * max(layer, full/4) // the tail is smaller than the whole
		}
		if per > worst {
			worst, who = per, m.Name()
		}
	}
	if worst <= 0 {
		return n, nil
	}
	fit := int(maxRunElements / worst)
	if fit < 1 {
		return 0, fmt.Errorf("explainer: %s needs activation tensors of %d values for one image, more than TensorFlow can index in one run (%d); use faster-scorecam, fewer samples/steps/groups, or an earlier --layer", who, worst, int64(maxRunElements))
	}
	return min(n, fit), nil
}
