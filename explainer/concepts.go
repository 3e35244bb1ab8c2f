package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// conceptOutputs upsamples and normalises a concept method's maps and
// ranks its concepts' classes; nil when the method handed none.
func (e *Explainer) conceptOutputs(cg conceptGraph) *conceptOut {
	if cg.n == 0 {
		return nil
	}
	out := &conceptOut{n: cg.n, norm: e.normalise(e.upsample(cg.maps)), low: e.normalise(cg.maps)}
	if cg.probs.Op != nil {
		o := &Ops{s: e.root.SubScope("concept_labels")}
		out.probs, out.classes = op.TopKV2(o.Scope(), cg.probs, constant(o.s, int32(e.nPredicts)))
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

// ConceptMethod is implemented by methods whose result is several concept
// maps per image (Map.Concepts) besides their one map:
// DeepFeatureFactorization. Callers that write files per map use it to
// write the concepts instead.
type ConceptMethod interface {
	Method
	// ConceptCount is the number of concept maps per image.
	ConceptCount() int
}
