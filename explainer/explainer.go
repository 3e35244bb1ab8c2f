package explainer

import (
	"context"
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/tfgraph"
)

// normEps keeps min–max normalisation finite on flat maps; the same value
// as pytorch-grad-cam and tf-keras-vis.
const normEps = 1e-7

// Config chooses what an Explainer computes. The zero value (with Methods
// set) explains the top-1 class at the default layer.
type Config struct {
	// Layer is the target layer's name (see tfgraph.Forward.Layers);
	// empty means the last spatial layer before global pooling/flatten.
	Layer string
	// Methods are the methods computed together on every batch.
	Methods []Method
	// Score is what is explained: logits (default) or probabilities.
	Score tfgraph.ScoreKind
	// TopK explains the K highest-scoring classes of each image (a map per
	// class); 0 or 1 means the top-1 class (or the classes passed to Explain).
	TopK int
	// Predictions is how many top predictions each result lists (default 5).
	Predictions int
	// Raw also fetches un-normalised maps at input resolution.
	Raw bool
	// LowRes also fetches normalised maps at the layer's resolution.
	LowRes bool
}

// Explainer explains batches for one model, layer and set of methods. The
// graph is built once in New; Explain is one Session.Run per batch. It is not
// safe for concurrent use (TensorFlow sessions are, but one Explainer feeds
// one batch at a time).
type Explainer struct {
	model  *tfgraph.Model
	fw     *tfgraph.Forward
	cfg    Config
	layer  tfgraph.Layer
	h, w   int // input size
	lh, lw int // layer size
	// Graph tensors.
	classes   tf.Output // int32 [N] placeholder with default top-1
	predVals  tf.Output // [N,P]
	predIdx   tf.Output // [N,P]
	targets   []tf.Output
	selected  []tf.Output
	norm      [][]tf.Output // [rank][method] [N,H,W]
	raw       [][]tf.Output
	low       [][]tf.Output
	nClasses  int
	nPredicts int
}

// Prediction is one class and the model's output for it.
type Prediction struct {
	Class int
	Score float32
}

// Map is one method's explanation of one class for one image. Slices are
// views into the batch's fetched buffers, row-major.
type Map struct {
	// Method is the method's name.
	Method string
	// Class is the explained class; Rank its position among the image's
	// top classes (0 for explicit targets and top-1).
	Class, Rank int
	// Score is the explained score (logit or probability) of Class.
	Score float32
	// Normalized is the map at input resolution, min–max scaled to [0,1].
	Normalized []float32
	// Raw is the same before normalisation (when Config.Raw).
	Raw []float32
	// LowRes is the normalised map at the layer's resolution (when Config.LowRes).
	LowRes []float32
}

// Result is the explanation of one image.
type Result struct {
	// Predictions are the top classes by model output, best first.
	Predictions []Prediction
	// Maps holds, per explained class (rank), one Map per method in
	// Config.Methods order: Maps[rank][method].
	Maps [][]Map
}

// New builds the explanation graph for model.
func New(model *tfgraph.Model, cfg Config) (*Explainer, error) {
	if len(cfg.Methods) == 0 {
		return nil, fmt.Errorf("explainer: no methods configured")
	}
	if cfg.TopK <= 0 {
		cfg.TopK = 1
	}
	if cfg.Predictions <= 0 {
		cfg.Predictions = 5
	}
	fw, err := model.Inline()
	if err != nil {
		return nil, err
	}
	e := &Explainer{model: model, fw: fw, cfg: cfg}
	if cfg.Layer == "" {
		e.layer, err = fw.DefaultLayer()
	} else {
		e.layer, err = fw.Layer(cfg.Layer)
	}
	if err != nil {
		return nil, err
	}
	if !e.layer.Spatial {
		return nil, fmt.Errorf("explainer: layer %q has shape %v; class-activation maps need a spatial 4-D layer [N,H,W,C] (see `tfcam layers`)", e.layer.Name, e.layer.Shape)
	}
	e.h, e.w, _ = model.InputSize()
	e.lh, e.lw = int(e.layer.Shape[1]), int(e.layer.Shape[2])
	if e.h <= 0 || e.w <= 0 || e.lh <= 0 || e.lw <= 0 {
		return nil, fmt.Errorf("explainer: %s has open spatial sizes (input %v, layer %v); tfcam needs fixed sizes", model.Dir, model.Input.Shape, e.layer.Shape)
	}
	if err := e.build(); err != nil {
		return nil, err
	}
	return e, nil
}

// Layer is the target layer.
func (e *Explainer) Layer() tfgraph.Layer { return e.layer }

// Classes is the number of classes the model scores.
func (e *Explainer) Classes() int { return e.nClasses }

func (e *Explainer) build() error {
	var needs Needs
	for _, m := range e.cfg.Methods {
		n := m.Needs()
		needs.LayerGrad = needs.LayerGrad || n.LayerGrad
		needs.GuidedInputGrad = needs.GuidedInputGrad || n.GuidedInputGrad
	}
	fw := e.fw
	scores, nClasses, err := fw.Scores(e.cfg.Score)
	if err != nil {
		return err
	}
	e.nClasses = nClasses
	if e.cfg.TopK > e.nClasses {
		return fmt.Errorf("explainer: top-%d asked but %s has %d classes", e.cfg.TopK, e.model.Dir, e.nClasses)
	}
	e.nPredicts = min(e.cfg.Predictions, e.nClasses)
	root := op.NewScopeWithGraph(e.model.Graph).SubScope(fmt.Sprintf("tfcam_explain_%p", e))

	pred := root.SubScope("predictions")
	e.predVals, e.predIdx = op.TopKV2(pred, fw.Output, constant(pred, int32(e.nPredicts)))
	top := root.SubScope("top_classes")
	_, topIdx := op.TopKV2(top, scores, constant(top, int32(e.cfg.TopK)))
	rank := func(r int) tf.Output {
		o := &Ops{s: root.SubScope("rank")}
		return op.StridedSlice(o.Scope(), topIdx, constant(o.s, []int32{0, int32(r)}), constant(o.s, []int32{0, int32(r + 1)}), constant(o.s, []int32{1, 1}),
			op.StridedSliceBeginMask(1), op.StridedSliceEndMask(1), op.StridedSliceShrinkAxisMask(2))
	}
	// Rank 0's class can be fed; by default it is the top-1 class.
	cls := root.SubScope("classes")
	e.classes = op.PlaceholderWithDefault(cls, rank(0), tf.MakeShape(-1))
	// graft panics on outputs of failed ops: check before using them.
	if err := root.Err(); err != nil {
		return fmt.Errorf("explainer: building the target selection: %w", err)
	}

	upsample := func(m tf.Output) tf.Output {
		o := &Ops{s: root.SubScope("upsample")}
		img := op.ExpandDims(o.Scope(), m, constant(o.s, int32(3)))
		up := op.ResizeBilinear(o.Scope(), img, constant(o.s, []int32{int32(e.h), int32(e.w)}), op.ResizeBilinearHalfPixelCenters(true))
		return op.Squeeze(o.Scope(), up, op.SqueezeAxis([]int64{3}))
	}
	normalise := func(m tf.Output) tf.Output {
		o := &Ops{s: root.SubScope("normalise")}
		lo := op.Min(o.Scope(), m, constant(o.s, []int32{1, 2}), op.MinKeepDims(true))
		hi := op.Max(o.Scope(), m, constant(o.s, []int32{1, 2}), op.MaxKeepDims(true))
		return op.RealDiv(o.Scope(), o.Sub(m, lo), o.Add(o.Sub(hi, lo), o.Const(normEps)))
	}

	for r := 0; r < e.cfg.TopK; r++ {
		targets := e.classes
		if r > 0 {
			targets = rank(r)
		}
		sc := fw.SelectScore(scores, targets, e.nClasses)
		t := Tensors{A: e.layer.Output, Upsample: upsample}
		var xs []tf.Output
		if needs.LayerGrad {
			xs = append(xs, e.layer.Output)
		}
		if len(xs) > 0 {
			grads, err := fw.Gradients(sc, xs...)
			if err != nil {
				return err
			}
			t.G = grads[0]
		}
		if needs.GuidedInputGrad {
			g, err := fw.GuidedGradients(sc, fw.Input)
			if err != nil {
				return err
			}
			t.Guided = g[0]
		}
		var norms, raws, lows []tf.Output
		for _, m := range e.cfg.Methods {
			mo := &Ops{s: root.SubScope(sanitize(m.Name()))}
			mp, err := m.Build(mo, t)
			if err != nil {
				return fmt.Errorf("explainer: %s: %w", m.Name(), err)
			}
			mp = mo.Relu(mp)
			var raw, low tf.Output
			if m.InputResolution() {
				raw = mp
				low = mp
			} else {
				raw = upsample(mp)
				low = normalise(mp)
			}
			raws = append(raws, raw)
			norms = append(norms, normalise(raw))
			lows = append(lows, low)
		}
		e.targets = append(e.targets, targets)
		e.selected = append(e.selected, sc.Selected)
		e.norm = append(e.norm, norms)
		e.raw = append(e.raw, raws)
		e.low = append(e.low, lows)
	}
	if err := root.Err(); err != nil {
		return fmt.Errorf("explainer: building the graph: %w", err)
	}
	return nil
}

func sanitize(name string) string {
	out := []rune{}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			out = append(out, r)
		case r == '+':
			out = append(out, 'p')
		default:
			out = append(out, '_')
		}
	}
	return string(out)
}

// Explain runs one batch: n images as a flat float32 slice [n,H,W,C],
// preprocessed as the model expects. classes, when not nil, gives the class
// to explain per image (otherwise each image's top class; with Config.TopK
// its top K). The batch is one Session.Run.
func (e *Explainer) Explain(ctx context.Context, batch []float32, n int, classes []int) ([]Result, error) {
	h, w, c := e.model.InputSize()
	if n <= 0 || len(batch) != n*h*w*c {
		return nil, fmt.Errorf("explainer: batch of %d values is not %d images of %dx%dx%d", len(batch), n, h, w, c)
	}
	feeds := map[tf.Output]tfgraph.Feed{
		e.fw.Input: {F32: batch, Shape: []int64{int64(n), int64(h), int64(w), int64(c)}},
	}
	if classes != nil {
		if e.cfg.TopK > 1 {
			return nil, fmt.Errorf("explainer: explicit classes and top-%d are exclusive", e.cfg.TopK)
		}
		if len(classes) != n {
			return nil, fmt.Errorf("explainer: %d target classes for a batch of %d images", len(classes), n)
		}
		ids := make([]int32, n)
		for i, cl := range classes {
			if cl < 0 || cl >= e.nClasses {
				return nil, fmt.Errorf("explainer: target class %d of image %d is out of range [0, %d)", cl, i, e.nClasses)
			}
			ids[i] = int32(cl)
		}
		feeds[e.classes] = tfgraph.Feed{I32: ids, Shape: []int64{int64(n)}}
	}
	floats := []tf.Output{e.predVals}
	for r := range e.norm {
		floats = append(floats, e.selected[r])
		floats = append(floats, e.norm[r]...)
		if e.cfg.Raw {
			floats = append(floats, e.raw[r]...)
		}
		if e.cfg.LowRes {
			floats = append(floats, e.low[r]...)
		}
	}
	ints := append([]tf.Output{e.predIdx}, e.targets...)
	out, ids, err := e.model.RunMixed(ctx, feeds, floats, ints)
	if err != nil {
		return nil, err
	}
	P := e.nPredicts
	results := make([]Result, n)
	for i := range results {
		res := &results[i]
		for p := 0; p < P; p++ {
			res.Predictions = append(res.Predictions, Prediction{Class: int(ids[0][i*P+p]), Score: out[0][i*P+p]})
		}
	}
	k := 1
	hw, lhw := h*w, e.lh*e.lw
	nm := len(e.cfg.Methods)
	for r := range e.norm {
		selected := out[k]
		k++
		norm := out[k : k+nm]
		k += nm
		var raw, low [][]float32
		if e.cfg.Raw {
			raw = out[k : k+nm]
			k += nm
		}
		if e.cfg.LowRes {
			low = out[k : k+nm]
			k += nm
		}
		for i := range results {
			maps := make([]Map, nm)
			for j, m := range e.cfg.Methods {
				mp := Map{Method: m.Name(), Rank: r, Class: int(ids[1+r][i]), Score: selected[i],
					Normalized: norm[j][i*hw : (i+1)*hw]}
				if raw != nil {
					mp.Raw = raw[j][i*hw : (i+1)*hw]
				}
				if low != nil {
					if m.InputResolution() {
						mp.LowRes = low[j][i*hw : (i+1)*hw]
					} else {
						mp.LowRes = low[j][i*lhw : (i+1)*lhw]
					}
				}
				maps[j] = mp
			}
			results[i].Maps = append(results[i].Maps, maps)
		}
	}
	return results, nil
}

// LayerSize is the target layer's spatial size (the LowRes map size).
func (e *Explainer) LayerSize() (h, w int) { return e.lh, e.lw }
