package explainer

import (
	"slices"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// TestNormalRows: rows drawn by normalRows are bit for bit the rows of the
// whole StatelessRandomNormal draw (SS-CAM's noise, drawn a chunk at a
// time), for row widths that are and are not a multiple of Philox's group
// of 4, and for row sets that start anywhere and skip rows.
func TestNormalRows(t *testing.T) {
	for _, shape := range [][]int32{{7, 9}, {4, 4}, {3, 1}} {
		const rows = 12
		s := op.NewScope()
		o := &Ops{s: s}
		seed := constant(s, []int64{12345, 6})
		whole := op.StatelessRandomNormal(s, constant(s, append([]int32{rows}, shape...)), seed)
		j := op.Placeholder(s, tf.Int32, op.PlaceholderShape(tf.MakeShape(-1)))
		part := normalRows(o, seed, shape, j)
		sess := newSession(t, s)
		for _, js := range [][]int32{{0}, {5}, {11}, {3, 4, 5, 6}, {2, 9, 7}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}} {
			feed, _ := tf.NewTensor(js)
			out, err := sess.Run(map[tf.Output]*tf.Tensor{j: feed}, []tf.Output{whole, part}, nil)
			if err != nil {
				t.Fatal(err)
			}
			all, got := flat(out[0].Value()), flat(out[1].Value())
			width := len(all) / rows
			var want []float32
			for _, r := range js {
				want = append(want, all[int(r)*width:int(r+1)*width]...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("shape %v, rows %v: drawn rows differ from the whole draw's", shape, js)
			}
		}
	}
}

// flat flattens a [rows, a, b] float32 value.
func flat(v any) []float32 {
	var out []float32
	for _, m := range v.([][][]float32) {
		for _, r := range m {
			out = append(out, r...)
		}
	}
	return out
}

// newSession finalizes s's graph and opens a session on it, closed when
// the test ends.
func newSession(t *testing.T, s *op.Scope) *tf.Session {
	t.Helper()
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}
