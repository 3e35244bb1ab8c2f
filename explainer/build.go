package explainer

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
)

// buildMap appends m's ops and returns its map before the shared ReLU, by
// m's kind: a WeightMethod's Σ_k (w⊙A)_k, or under eigen the first
// principal component of w⊙A (eigen_smooth); a MapMethod's own map; a
// ConceptMethod's strongest concept, with its concepts (n per image).
func buildMap(m Method, o *Ops, t Tensors, eigen bool) (mp tf.Output, concepts ConceptMaps, n int, err error) {
	if eigen {
		if _, ok := m.(WeightMethod); !ok {
			return mp, concepts, 0, t.Ctx.notApplicable(m, "eigen_smooth replaces the sum over channels of a weight method's w⊙A, and "+m.Name()+" is not a weight method",
				"leave eigen_smooth out for this method", nil)
		}
	}
	switch m := m.(type) {
	case WeightMethod:
		w, err := m.Weights(o, t)
		if err != nil {
			return mp, concepts, 0, err
		}
		weighted := o.Mul(w, t.A)
		if eigen {
			return o.g().FirstComponent(weighted), concepts, 0, nil
		}
		return o.ChannelSum(weighted), concepts, 0, nil
	case MapMethod:
		mp, err := m.Build(o, t)
		return mp, concepts, 0, err
	case ConceptMethod:
		n := m.ConceptCount()
		concepts, err := m.BuildConcepts(o, t)
		if err != nil {
			return mp, concepts, 0, err
		}
		return strongest(o, concepts.Maps, n), concepts, n, nil
	}
	return mp, concepts, 0, fmt.Errorf("explainer: method %s (%T) is none of WeightMethod, MapMethod and ConceptMethod", m.Name(), m)
}
