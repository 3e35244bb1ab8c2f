package tfgraph

import (
	"context"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/internal/fixture"
)

// TestCopy checks that a forward copy fed with 2x the input computes the
// model on 2x the input (the signature run on the doubled batch), and that a
// copy replacing a layer's output with itself reproduces the output.
func TestCopy(t *testing.T) {
	for _, name := range []string{"resnet", "tf1_flat", "tfmodule"} {
		t.Run(name, func(t *testing.T) {
			f, m, fw := loadInlined(t, name)
			in := f.Array(t, "inputs")
			s := op.NewScopeWithGraph(m.Graph).SubScope("test_copy")
			doubled := op.Mul(s, fw.Input, op.Const(s.SubScope("two"), float32(2)))
			c, err := fw.Copy(map[tf.Output]tf.Output{fw.Input: doubled})
			if err != nil {
				t.Fatal(err)
			}
			out2, err := c.Twin(fw.Output)
			if err != nil {
				t.Fatal(err)
			}
			layer, err := fw.DefaultLayer()
			if err != nil {
				t.Fatal(err)
			}
			tail, err := fw.Copy(map[tf.Output]tf.Output{layer.Output: layer.Output})
			if err != nil {
				t.Fatal(err)
			}
			outTail, _ := tail.Twin(fw.Output)
			twice := make([]float32, len(in.F32))
			for i, v := range in.F32 {
				twice[i] = 2 * v
			}
			got, err := m.Run(context.Background(), map[tf.Output]Feed{fw.Input: batchFeed(in)}, []tf.Output{out2, outTail, fw.Output})
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := m.Predict(context.Background(), twice, in.Shape[0])
			if err != nil {
				t.Fatal(err)
			}
			if d := fixture.MaxAbsDiff(got[0], want); d > 1e-5 {
				t.Errorf("copy on 2x input differs from the model on 2x input by %g", d)
			}
			if d := fixture.MaxAbsDiff(got[1], got[2]); d > 1e-6 {
				t.Errorf("tail copy differs from the forward pass by %g", d)
			}
		})
	}
}
