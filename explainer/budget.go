package explainer

import (
	"context"
	"fmt"

	"github.com/tfcam/tfcam/tfgraph"
	tf "github.com/wamuir/graft/tensorflow"
)

// maxRunElements bounds the largest activation tensor of one Session.Run.
// TensorFlow's CPU kernels index some tensors with 32-bit integers: past
// 2³¹ elements they crash the process instead of returning an error (seen:
// Score-CAM on EfficientNet-Lite0, 2 images × 1280 masked copies → a
// 2560×112×112×96 tensor, SIGSEGV). Explain splits a batch into runs that
// stay below this bound (or Config.MaxTensorElements), and methods that run
// many copies of one image run them in sequential chunks (Context.chunked).
const maxRunElements = 1<<31 - 1

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

// geometry is what methods' costs depend on.
func (e *Explainer) geometry() Geometry {
	h, w, c := e.model.InputSize()
	return Geometry{H: h, W: w, C: c, LH: e.lh, LW: e.lw, K: e.k, Classes: e.nClasses}
}

// copyCost is, for a method that runs copies of each image (its declared
// Cost), the number of copies per image, the values one copy adds to the
// largest activation tensor, and the values of one copy's input (an image,
// or the layer's activations for copies that run only the layers after
// it, which are smaller than the whole model's). A method with both kinds
// is counted as if all its copies ran the whole model.
func (e *Explainer) copyCost(m Method) (copies int, unit, in int64) {
	cost := costOf(m, e.geometry())
	acts := int64(e.lh * e.lw * e.k)
	if cost.Copies == 0 {
		return cost.TailCopies, max(acts, e.fw.MaxActivation()/4), acts // the tail is smaller than the whole
	}
	in = int64(e.h * e.w * e.inputChannels())
	if cost.TailCopies > 0 {
		in = max(in, acts)
	}
	return cost.Copies + cost.TailCopies, e.fw.MaxActivation(), in
}

// inputsAtOnce is how many copies' inputs of one image exist at once
// while m runs: those built whole (before the chunks split them) and one
// chunk's share of those built chunk by chunk (Cost.ChunkBuilt).
func (e *Explainer) inputsAtOnce(m Method) int64 {
	cost := costOf(m, e.geometry())
	c, _, _ := e.copyCost(m)
	perChunk := min(cost.ChunkBuilt, c)
	chunks := e.chunks(m)
	return int64(c-perChunk) + int64((perChunk+chunks-1)/chunks)
}

// chunks is how many sequential parts the copies of one image need so that
// each part stays within the budget (1: no chunking).
func (e *Explainer) chunks(m Method) int {
	c, unit, _ := e.copyCost(m)
	if c == 0 || unit <= 0 || int64(c)*unit <= e.budget() {
		return 1
	}
	per := max(1, int(e.budget()/unit)) // copies per part
	return (c + per - 1) / per
}

// MaxChunks bounds the sequential parts one method's copies are split
// into (chunks): each is a copy of the forward pass in the graph, so a
// budget far too small for the copies would build a graph for minutes
// before the first image. A method needing more is refused by New.
const MaxChunks = 1000

// checkChunks refuses, before any graph is built for it, a method whose
// copies of one image are more values than TensorFlow can index in one
// tensor or need more than MaxChunks parts under the budget: either fails
// every image.
func (e *Explainer) checkChunks(methods []Method) error {
	for _, m := range methods {
		c, _, in := e.copyCost(m)
		if c > 0 && e.inputsAtOnce(m)*in > maxRunElements {
			return fmt.Errorf("explainer: %s at layer %q builds %d copies of one image at once (%d values each), more than TensorFlow can index in one tensor (%d); use fewer copies (fewer samples/steps) or an earlier --layer", m.Name(), e.layer.Name, e.inputsAtOnce(m), in, int64(maxRunElements))
		}
		if chunks := e.chunks(m); chunks > MaxChunks {
			return fmt.Errorf("explainer: %s at layer %q: its %d copies of one image need %d chunks under the tensor budget of %d values, more than %d (each chunk is a part of the graph): raise --max-tensor-mb (Config.MaxTensorElements), or use fewer copies (samples/steps) or an earlier --layer",
				m.Name(), e.layer.Name, c, chunks, e.budget(), MaxChunks)
		}
	}
	return nil
}

// imagesPerRun is how many images one Session.Run may take so that no
// activation tensor exceeds the budget: the model's own forward pass, and
// each expanding method's largest chunk of copies (per image: its copies
// divided among its chunks).
func (e *Explainer) imagesPerRun(n int) (int, error) {
	full := e.fw.MaxActivation()
	worst, who := full, "the model itself"
	fit := n
	for _, m := range e.methods {
		c, unit, in := e.copyCost(m)
		if c == 0 {
			continue
		}
		chunks := e.chunks(m)
		per := int64((c+chunks-1)/chunks) * unit
		if w, ok := m.(interface{ wholeCopies() int }); ok {
			// Copies that run in one piece (aug_smooth's), not chunked.
			per = max(per, int64(w.wholeCopies())*e.fw.MaxActivation())
		}
		if per > worst {
			worst, who = per, m.Name()
		}
		// The copies' inputs that are built whole before the chunks split
		// them (noise, ablated activations; not Cost.ChunkBuilt's): keep
		// them below TensorFlow's limit too.
		fitIn := int(maxRunElements / (e.inputsAtOnce(m) * in))
		if fitIn < 1 {
			return 0, fmt.Errorf("explainer: %s at layer %q builds %d copies of one image at once (%d values each), more than TensorFlow can index in one tensor (%d); use fewer copies (fewer samples/steps) or an earlier --layer", m.Name(), e.layer.Name, e.inputsAtOnce(m), in, int64(maxRunElements))
		}
		fit = min(fit, fitIn)
	}
	if worst <= 0 {
		return fit, nil
	}
	f := int(e.budget() / worst)
	if f < 1 {
		return 0, fmt.Errorf("explainer: %s at layer %q needs activation tensors of %d values for one image, more than the limit of %d (TensorFlow's, or Config.MaxTensorElements / --max-tensor-mb); raise the limit, or use an earlier --layer", who, e.layer.Name, worst, e.budget())
	}
	return min(fit, f), nil
}

// inputChannels is the model input's channel count.
func (e *Explainer) inputChannels() int {
	_, _, c := e.model.InputSize()
	return c
}

// builtCopies are the batches of copies one method's Build ran through
// the model.
type builtCopies struct {
	m      Method
	copies []copyRecord
}

// checkCosts refuses a method that runs more copies of each image through
// the model than its Cost declares: the budget above would be too small
// for it, and the 2³¹-element guard would pass a run that crashes
// TensorFlow. Copy batches are sized in the graph (masks, ablations,
// noise), so their rows are measured in one run on a single zero image
// that computes only what those sizes need (at most one forward and
// backward pass; only when some method builds copies).
func (e *Explainer) checkCosts(built []builtCopies) error {
	var rows []tf.Output
	for _, b := range built {
		for _, r := range b.copies {
			rows = append(rows, r.rows)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	h, w, c := e.model.InputSize()
	feeds := map[tf.Output]tfgraph.Feed{e.fw.Input: {F32: make([]float32, h*w*c), Shape: []int64{1, int64(h), int64(w), int64(c)}}}
	_, got, err := e.model.RunMixed(context.Background(), feeds, nil, rows)
	if err != nil {
		return fmt.Errorf("explainer: measuring the methods' model copies: %w", err)
	}
	next := 0
	for _, b := range built {
		var c Cost
		for _, r := range b.copies {
			switch {
			case r.tail:
				c.TailCopies += int(got[next][0])
			case r.perChunk:
				c.Copies += int(got[next][0])
				c.ChunkBuilt += int(got[next][0])
			default:
				c.Copies += int(got[next][0])
			}
			next++
		}
		declared := costOf(b.m, e.geometry())
		if c.Copies > declared.Copies || c.TailCopies > declared.TailCopies || c.Copies-c.ChunkBuilt > declared.Copies-declared.ChunkBuilt {
			return &CostError{Method: b.m.Name(), Layer: e.layer.Name, Declared: declared, Built: c}
		}
	}
	return nil
}
