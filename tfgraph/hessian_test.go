package tfgraph

import (
	"context"
	"math"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// TestHessianVector checks H·v for y = Σ f(x) against f”(x)·v written
// out by hand, for each activation whose gradient op HessianVector
// rewrites (and a linear y: zeros).
func TestHessianVector(t *testing.T) {
	_, m, fw := loadInlined(t, "shapes")
	xs := []float64{0.3, 0.7, 1.5, 2.2, 7.0}
	vs := []float64{1, -2, 0.5, 3, 1}
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	cases := []struct {
		name string
		f    func(s *op.Scope, x tf.Output) tf.Output
		d2   func(x float64) float64
	}{
		{"sigmoid", func(s *op.Scope, x tf.Output) tf.Output { return op.Sigmoid(s, x) }, func(x float64) float64 { return sig(x) * (1 - sig(x)) * (1 - 2*sig(x)) }},
		{"tanh", func(s *op.Scope, x tf.Output) tf.Output { return op.Tanh(s, x) }, func(x float64) float64 { th := math.Tanh(x); return -2 * th * (1 - th*th) }},
		{"rsqrt", func(s *op.Scope, x tf.Output) tf.Output { return op.Rsqrt(s, x) }, func(x float64) float64 { return 0.75 * math.Pow(x, -2.5) }},
		{"sqrt", func(s *op.Scope, x tf.Output) tf.Output { return op.Sqrt(s, x) }, func(x float64) float64 { return -0.25 * math.Pow(x, -1.5) }},
		{"reciprocal", func(s *op.Scope, x tf.Output) tf.Output { return op.Reciprocal(s, x) }, func(x float64) float64 { return 2 / (x * x * x) }},
		{"relu·x", func(s *op.Scope, x tf.Output) tf.Output { return op.Mul(s, op.Relu(s.SubScope("r"), x), x) }, func(float64) float64 { return 2 }},
		{"relu6·x", func(s *op.Scope, x tf.Output) tf.Output { return op.Mul(s, op.Relu6(s.SubScope("r"), x), x) }, func(x float64) float64 {
			if x < 6 {
				return 2
			}
			return 0
		}},
		{"linear", func(s *op.Scope, x tf.Output) tf.Output { return op.Mul(s, x, op.Const(s.SubScope("c"), float32(3))) }, func(float64) float64 { return 0 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := fw.newScope("test_hessian")
			x := op.Placeholder(s.SubScope("x"), tf.Float, op.PlaceholderShape(tf.MakeShape(5)))
			y := op.Sum(s.SubScope("sum"), c.f(s.SubScope("f"), x), op.Const(s.SubScope("axis"), []int32{0}))
			v32 := make([]float32, len(vs))
			x32 := make([]float32, len(xs))
			for i := range vs {
				v32[i], x32[i] = float32(vs[i]), float32(xs[i])
			}
			v := op.Const(s.SubScope("v"), v32)
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			hv, err := fw.HessianVector(y, x, v)
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Run(context.Background(), map[tf.Output]Feed{x: {F32: x32, Shape: []int64{5}}}, []tf.Output{hv})
			if err != nil {
				t.Fatal(err)
			}
			for i := range xs {
				want := c.d2(xs[i]) * vs[i]
				if d := math.Abs(float64(out[0][i]) - want); d > 1e-5*math.Max(1, math.Abs(want)) {
					t.Errorf("x=%g: H·v = %g, want %g", xs[i], out[0][i], want)
				}
			}
		})
	}
}
