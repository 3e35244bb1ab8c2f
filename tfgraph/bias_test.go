package tfgraph

import (
	"context"
	"math"
	"sort"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/internal/fixture"
)

// linearOps are the op types of networks that are piecewise linear and
// positively homogeneous between their biases: ReLU and max-pool nets with
// convolutions, batch normalisation and pooling. Relu6, sigmoid, swish,
// GELU and softmax are not (a saturated Relu6 acts as one more bias).
var linearOps = map[string]bool{
	"Conv2D": true, "DepthwiseConv2dNative": true, "MatMul": true, "BiasAdd": true,
	"AddV2": true, "Add": true, "Sub": true, "Mul": true, "Relu": true, "MaxPool": true, "AvgPool": true,
	"Mean": true, "Sum": true, "Reshape": true, "Identity": true, "Pad": true, "ConcatV2": true,
	"Squeeze": true, "ExpandDims": true, "Const": true, "ReadVariableOp": true, "Shape": true,
	"StridedSlice": true, "Pack": true, "Cast": true, "Rsqrt": true, "FusedBatchNormV3": true,
	"FusedBatchNorm": true, "Transpose": true, "NoOp": true, "Placeholder": true, "Neg": true,
	"Softmax": true, // after the logits, which are what is checked
}

// TestBiasSitesComplete checks BiasSites against the full-gradient
// completeness identity (Srinivas & Fleuret 2019, Eq. 2): for a piecewise-
// linear network, each logit is exactly
//
//	y = Σ x·∂y/∂x + Σ_sites Σ b·∂y/∂z
//
// — exact in exact arithmetic whatever side of a ReLU kink rounding puts a
// unit, since both sides use the same backward pass. Tolerance 1e-4 of
// Σ|terms| (half-precision fixtures: fixture.HalfTolerance). A bias addition that
// BiasSites missed (or a tensor it took for a bias that is not one) breaks
// the identity by that site's share of the logit. Checked on every fixture
// whose ops are all piecewise linear (at least two must be).
func TestBiasSitesComplete(t *testing.T) {
	checked := 0
	for _, name := range fixture.Names(t) {
		t.Run(name, func(t *testing.T) {
			f, m, fw := loadInlined(t, name)
			var other []string
			for i, n := range fw.nodes {
				if fw.onPath[i] && !linearOps[n.GetOp()] {
					other = append(other, n.GetOp())
				}
			}
			if len(other) > 0 {
				sort.Strings(other)
				t.Logf("not piecewise linear (%v): identity not checked", other[:min(3, len(other))])
				return
			}
			checked++
			sites, err := fw.BiasSites()
			if err != nil {
				t.Fatal(err)
			}
			if len(sites) == 0 {
				t.Fatal("no bias sites found")
			}
			score, err := fw.ClassScore(Logits)
			if err != nil {
				t.Fatal(err)
			}
			xs := []tf.Output{fw.Input}
			for _, s := range sites {
				xs = append(xs, s.Output)
			}
			grads, err := fw.Gradients(score, xs...)
			if err != nil {
				t.Fatal(err)
			}
			in := f.Array(t, "inputs")
			n := in.Shape[0]
			targets := f.Array(t, "targets")
			fetch := []tf.Output{score.Selected}
			for i, s := range sites {
				fetch = append(fetch, castFloat32(t, fw, s.Output), castFloat32(t, fw, grads[i+1]), s.Bias)
			}
			fetch = append(fetch, grads[0])
			out, err := m.Run(context.Background(), map[tf.Output]Feed{fw.Input: batchFeed(in), score.Targets: {I32: targets.I32, Shape: []int64{int64(n)}}}, fetch)
			if err != nil {
				t.Fatal(err)
			}
			y := out[0]
			total := make([]float64, n)
			mag := make([]float64, n) // Σ |terms|: the scale rounding works on
			add := func(i int, v float64) { total[i] += v; mag[i] += math.Abs(v) }
			gx := out[len(out)-1]
			per := len(in.F32) / n
			for i := 0; i < n; i++ {
				for j := 0; j < per; j++ {
					add(i, float64(in.F32[i*per+j])*float64(gx[i*per+j]))
				}
			}
			for s := range sites {
				g, b := out[2+3*s], out[3+3*s]
				k := len(b)
				per := len(g) / n
				for i := 0; i < n; i++ {
					for j := 0; j < per; j++ {
						add(i, float64(b[j%k])*float64(g[i*per+j]))
					}
				}
			}
			for i := 0; i < n; i++ {
				d := math.Abs(total[i] - float64(y[i]))
				if tol := f.Tolerance(1e-4); d > tol*mag[i] {
					t.Errorf("image %d: logit %.6g but Σ x·g + Σ b·∂y/∂z = %.6g (|diff| %.3g > %g × %.3g) over %d bias sites", i, y[i], total[i], d, tol, mag[i], len(sites))
				} else {
					t.Logf("image %d: logit %.6g, completeness sum %.6g (%d bias sites)", i, y[i], total[i], len(sites))
				}
			}
		})
	}
	if checked < 2 {
		t.Errorf("the identity was checked on %d fixtures; at least 2 piecewise-linear fixtures are expected (shapes, vgg)", checked)
	}
}
