package tfgraph

import "fmt"

// Bypassed reports whether the model's output depends on its input by a
// path that avoids l's output (a residual connection around l, as in every
// transformer block): then the layers after l cannot be re-run from l's
// activations alone, and methods that do so (Ablation-CAM) do not apply.
func (f *Forward) Bypassed(l Layer) bool {
	consumers := map[string][]int{}
	for i, n := range f.nodes {
		if !f.onPath[i] {
			continue
		}
		for _, in := range n.GetInput() {
			if in != "" && in[0] != '^' {
				consumers[normTensor(in)] = append(consumers[normTensor(in)], i)
			}
		}
	}
	skip := fmt.Sprintf("%s:%d", l.Output.Op.Name(), l.Output.Index)
	out := f.Output.Op.Name()
	seen := map[int]bool{}
	var down func(t string) bool
	down = func(t string) bool {
		if t == skip {
			return false
		}
		for _, c := range consumers[t] {
			if seen[c] {
				continue
			}
			seen[c] = true
			n := f.nodes[c]
			if n.GetName() == out {
				return true
			}
			op := f.model.Graph.Operation(n.GetName())
			for k := 0; k < op.NumOutputs(); k++ {
				if down(fmt.Sprintf("%s:%d", n.GetName(), k)) {
					return true
				}
			}
		}
		return false
	}
	return down(fmt.Sprintf("%s:%d", f.Input.Op.Name(), f.Input.Index))
}
