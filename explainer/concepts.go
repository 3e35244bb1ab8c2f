package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// conceptOutputs upsamples and normalises a concept method's maps and
// ranks its concepts' classes; nil when the method handed none.
func (e *Explainer) conceptOutputs(cg ConceptMaps, n int) *conceptOut {
	if n == 0 {
		return nil
	}
	out := &conceptOut{n: n, norm: e.normalise(e.upsample(cg.Maps)), low: e.normalise(cg.Maps)}
	if cg.Probs.Op != nil {
		o := &Ops{s: e.root.SubScope("concept_labels")}
		out.probs, out.classes = op.TopKV2(o.Scope(), cg.Probs, constant(o.s, int32(e.nPredicts)))
	}
	return out
}

// conceptFetches lists the tensors Explain fetches for the concept
// methods of rank set rs, floats and ints, in the order takeConcepts reads
// them.
func (e *Explainer) conceptFetches(rs *rankSet) (floats, ints []tf.Output) {
	for _, byMethod := range rs.concepts {
		for _, c := range byMethod {
			if c == nil {
				continue
			}
			floats = append(floats, c.norm)
			if e.cfg.LowRes {
				floats = append(floats, c.low)
			}
			if c.probs.Op != nil {
				floats = append(floats, c.probs)
				ints = append(ints, c.classes)
			}
		}
	}
	return floats, ints
}

// takeConcepts fills the Concepts of results' maps from the fetched
// floats and ints (conceptFetches' order).
func (e *Explainer) takeConcepts(rs *rankSet, results []Result, floats [][]float32, ints [][]int32) {
	hw, lhw := e.h*e.w, e.lh*e.lw
	P := e.nPredicts
	for r, byMethod := range rs.concepts {
		for j, c := range byMethod {
			if c == nil {
				continue
			}
			norm := floats[0]
			floats = floats[1:]
			var low, probs []float32
			var classes []int32
			if e.cfg.LowRes {
				low, floats = floats[0], floats[1:]
			}
			if c.probs.Op != nil {
				probs, floats = floats[0], floats[1:]
				classes, ints = ints[0], ints[1:]
			}
			for i := range results {
				cs := &Concepts{}
				for k := range c.n {
					row := i*c.n + k
					cs.Maps = append(cs.Maps, norm[row*hw:(row+1)*hw])
					if low != nil {
						cs.LowRes = append(cs.LowRes, low[row*lhw:(row+1)*lhw])
					}
					if probs != nil {
						labels := make([]Prediction, P)
						for p := range labels {
							labels[p] = Prediction{Class: int(classes[row*P+p]), Score: probs[row*P+p]}
						}
						cs.Labels = append(cs.Labels, labels)
					}
				}
				results[i].Maps[r][j].Concepts = cs
			}
		}
	}
}

// ConceptMethod is a method whose result is several concept maps per
// image (Map.Concepts): DeepFeatureFactorization. The explainer derives
// its one map, Map.Normalized, as the strength of each position's
// strongest concept (the maximum over the min–max normalised concept
// maps). Callers that write files per map use ConceptCount to write the
// concepts instead.
type ConceptMethod interface {
	Method
	// ConceptCount is the number of concept maps per image.
	ConceptCount() int
	// BuildConcepts appends the method's ops and returns its concepts.
	BuildConcepts(o *Ops, t Tensors) (ConceptMaps, error)
}

// ConceptMaps is what a ConceptMethod builds.
type ConceptMaps struct {
	// Maps are the concept maps at the layer's resolution, float32
	// [N·n,h,w] for n = ConceptCount(), image-major: concept c of image i
	// is row i·n+c.
	Maps tf.Output
	// Probs are the concepts' class probabilities [N,n,classes], or zero
	// (Op nil) when the concepts have no labels.
	Probs tf.Output
}

// strongest is the map of a concept method: per position, the maximum of
// its n min–max normalised concept maps [N·n,h,w] → [N,h,w].
func strongest(o *Ops, maps tf.Output, n int) tf.Output {
	shape := op.Shape(o.Scope(), maps, op.ShapeOutType(tf.Int32))
	spatial := op.StridedSlice(o.Scope(), shape, constant(o.s, []int32{1}), constant(o.s, []int32{3}), constant(o.s, []int32{1}))
	perImage := op.ConcatV2(o.Scope(), []tf.Output{constant(o.s, []int32{-1, int32(n)}), spatial}, constant(o.s, int32(0)))
	return op.Max(o.Scope(), op.Reshape(o.Scope(), o.g().MinMax(maps, normEps), perImage), constant(o.s, int32(1)))
}
