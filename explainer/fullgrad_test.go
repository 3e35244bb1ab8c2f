package explainer

import (
	"context"
	"math"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/tfgraph"
)

// TestFullGradMatchesFormula compares FullGrad's map on every fixture with
// pytorch-grad-cam 1.5's FullGrad formula computed here in Go (torch cannot
// run on this machine): from the input, the input gradient, and each
// spatial bias site's bias and gradient, fetched in the same Session.Run as
// the map (so both read the same backward pass and no ReLU kink can fall
// differently), ψ = per image and channel (x − min) ÷ (max(x − min) +
// 1e-7), Σ_c ψ(|x·g|) + Σ_sites upsample(Σ_k ψ(|b·∂y/∂z|)), bilinear with
// half-pixel centres; both min–max normalised. Tolerance 1e-4 on the
// normalised maps. That BiasSites finds every bias is checked in tfgraph
// (TestBiasSitesComplete).
func TestFullGradMatchesFormula(t *testing.T) {
	for _, name := range fixture.Names(t) {
		t.Run(name, func(t *testing.T) {
			f, m := loadModel(t, name)
			e, err := New(m, Config{Methods: []Method{FullGrad{}}})
			if err != nil {
				t.Fatal(err)
			}
			rs, err := e.ranks(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			all, err := e.fw.BiasSites()
			if err != nil {
				t.Fatal(err)
			}
			var sites []tfgraph.BiasSite
			for _, s := range all {
				if s.Spatial {
					sites = append(sites, s)
				}
			}
			sc := e.fw.SelectScore(e.scores, rs.targets[0], e.nClasses)
			xs := []tf.Output{e.fw.Input}
			for _, s := range sites {
				xs = append(xs, s.Output)
			}
			grads, err := e.fw.Gradients(sc, xs...)
			if err != nil {
				t.Fatal(err)
			}
			fetch := []tf.Output{rs.norm[0][0], e.float32Of(grads[0])}
			for i, s := range sites {
				fetch = append(fetch, e.float32Of(grads[i+1]), s.Bias)
			}
			in := f.Array(t, "inputs")
			n := in.Shape[0]
			h, w, c := m.InputSize()
			out, _, err := m.RunMixed(context.Background(), map[tf.Output]tfgraph.Feed{
				e.fw.Input: {F32: m.RoundPixels(in.F32), Shape: []int64{int64(n), int64(h), int64(w), int64(c)}},
			}, fetch, nil)
			if err != nil {
				t.Fatal(err)
			}
			x := m.RoundPixels(in.F32)
			ref := make([]float32, 0, n*h*w)
			for i := 0; i < n; i++ {
				total := make([]float64, h*w)
				gx := out[1][i*h*w*c : (i+1)*h*w*c]
				xi := x[i*h*w*c : (i+1)*h*w*c]
				prod := make([]float64, h*w*c)
				for j := range prod {
					prod[j] = math.Abs(float64(xi[j]) * float64(gx[j]))
				}
				addScaled(total, prod, h*w, c)
				for s, site := range sites {
					shape, _ := site.Output.Shape().ToSlice()
					sh, sw, k := int(shape[1]), int(shape[2]), int(shape[3])
					g, b := out[2+2*s], out[3+2*s]
					gi := g[i*sh*sw*k : (i+1)*sh*sw*k]
					prod := make([]float64, sh*sw*k)
					for j := range prod {
						prod[j] = math.Abs(float64(b[j%k]) * float64(gi[j]))
					}
					low := make([]float64, sh*sw)
					addScaled(low, prod, sh*sw, k)
					up := bilinearHalfPixel(low, sh, sw, h, w)
					for j := range total {
						total[j] += up[j]
					}
				}
				lo, hi := math.Inf(1), math.Inf(-1)
				for _, v := range total {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
				for _, v := range total {
					ref = append(ref, float32((v-lo)/(hi-lo+normEps)))
				}
			}
			t.Logf("%d spatial bias sites", len(sites))
			checkMap(t, "fullgrad", out[0], ref, nil, f.Tolerance(1e-4))
		})
	}
}

// addScaled adds Σ_k ψ(x_k) to total for x [P,K] (position-major): ψ is
// (x − min) ÷ (max(x − min) + 1e-7) over the P positions of channel k.
func addScaled(total, x []float64, p, k int) {
	for ch := 0; ch < k; ch++ {
		lo, hi := math.Inf(1), math.Inf(-1)
		for j := 0; j < p; j++ {
			lo, hi = math.Min(lo, x[j*k+ch]), math.Max(hi, x[j*k+ch])
		}
		for j := 0; j < p; j++ {
			total[j] += (x[j*k+ch] - lo) / (hi - lo + normEps)
		}
	}
}

// bilinearHalfPixel resizes m [h,w] to [H,W] bilinearly with half-pixel
// centres (source coordinate (i + ½)·h/H − ½, clamped at the edges).
func bilinearHalfPixel(m []float64, h, w, H, W int) []float64 {
	at := func(i, n, size int) (lo, hi int, f float64) {
		s := (float64(i)+0.5)*float64(n)/float64(size) - 0.5
		fl := math.Floor(s)
		lo, hi = max(int(fl), 0), min(int(math.Ceil(s)), n-1)
		return lo, hi, s - fl
	}
	out := make([]float64, H*W)
	for y := 0; y < H; y++ {
		y0, y1, fy := at(y, h, H)
		for x := 0; x < W; x++ {
			x0, x1, fx := at(x, w, W)
			top := m[y0*w+x0] + (m[y0*w+x1]-m[y0*w+x0])*fx
			bot := m[y1*w+x0] + (m[y1*w+x1]-m[y1*w+x0])*fx
			out[y*W+x] = top + (bot-top)*fy
		}
	}
	return out
}
