package graphops

import (
	"math"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/cgo"
)

// run evaluates the output build appends, in a session of its own.
func run(t *testing.T, build func(o *Ops) tf.Output) *tf.Tensor {
	t.Helper()
	root := op.NewScope()
	out := build(New(root.SubScope("t")))
	g, err := root.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	var res []*tf.Tensor
	err = cgo.WithoutSignals(func() error {
		s, err := tf.NewSession(g, nil)
		if err != nil {
			return err
		}
		defer s.Close()
		res, err = s.Run(nil, []tf.Output{out}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func TestPick(t *testing.T) {
	scores := [][]float32{{1, 2, 3}, {4, 5, 6}, {-1, 0.5, 9}}
	cases := []struct {
		name    string
		classes []int32
	}{
		{"diagonal", []int32{0, 1, 2}},
		{"same class", []int32{2, 2, 2}},
		{"first", []int32{0, 0, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := run(t, func(o *Ops) tf.Output { return o.Pick(o.Constant(scores), o.Constant(c.classes), 3) }).Value().([]float32)
			for i, cl := range c.classes {
				if got[i] != scores[i][cl] {
					t.Errorf("row %d: %g, want scores[%d][%d] = %g", i, got[i], i, cl, scores[i][cl])
				}
			}
		})
	}
}

func TestMinMax(t *testing.T) {
	maps := [][][]float32{{{1, 3}, {5, 9}}, {{2, 2}, {2, 2}}, {{-4, 0}, {4, 0}}}
	for _, eps := range []float32{0, 1e-7} {
		got := run(t, func(o *Ops) tf.Output { return o.MinMax(o.Constant(maps), eps) }).Value().([][][]float32)
		for n, m := range maps {
			lo, hi := m[0][0], m[0][0]
			for _, row := range m {
				for _, v := range row {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
			for i, row := range m {
				for j, v := range row {
					want := float32(0)
					if hi-lo+eps != 0 {
						want = (v - lo) / (hi - lo + eps)
					}
					if d := math.Abs(float64(got[n][i][j] - want)); d > 1e-6 {
						t.Errorf("eps %g, map %d (%d,%d): %g, want %g", eps, n, i, j, got[n][i][j], want)
					}
				}
			}
		}
	}
}

// TestGaussianBlur compares the separable graph blur with a direct 2-D
// convolution of the same normalised kernel, reflect-padded.
func TestGaussianBlur(t *testing.T) {
	const h, w = 7, 9
	img := make([][][][]float32, 1)
	img[0] = make([][][]float32, h)
	for i := range img[0] {
		img[0][i] = make([][]float32, w)
		for j := range img[0][i] {
			img[0][i][j] = []float32{float32((i*7+j*3)%11) / 10, float32(i*j%5) - 2}
		}
	}
	cases := []struct {
		radius int
		sigma  float64
	}{{1, 0.8}, {3, 1.5}, {BlurRadius(2), 2}} // the last one clipped to 6 taps each side
	for _, c := range cases {
		got := run(t, func(o *Ops) tf.Output { return o.GaussianBlur(o.Constant(img), c.radius, c.sigma) }).Value().([][][][]float32)
		r := min(c.radius, min(h, w)-1)
		var kern []float64
		var sum float64
		for d := -r; d <= r; d++ {
			kern = append(kern, math.Exp(-float64(d*d)/(2*c.sigma*c.sigma)))
			sum += kern[len(kern)-1]
		}
		reflect := func(i, n int) int {
			if i < 0 {
				return -i
			}
			if i >= n {
				return 2*(n-1) - i
			}
			return i
		}
		for i := 0; i < h; i++ {
			for j := 0; j < w; j++ {
				for ch := 0; ch < 2; ch++ {
					var want float64
					for a := -r; a <= r; a++ {
						for b := -r; b <= r; b++ {
							want += kern[a+r] / sum * kern[b+r] / sum * float64(img[0][reflect(i+a, h)][reflect(j+b, w)][ch])
						}
					}
					if d := math.Abs(float64(got[0][i][j][ch]) - want); d > 1e-5 {
						t.Fatalf("radius %d σ %g at (%d,%d,%d): %g, want %g", c.radius, c.sigma, i, j, ch, got[0][i][j][ch], want)
					}
				}
			}
		}
	}
}
