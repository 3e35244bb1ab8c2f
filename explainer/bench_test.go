package explainer

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/tfgraph"
)

// The benchmarks run on the bench_resnet fixture (ResNet-18-like, 160 px,
// 1000 classes, random weights) at batch sizes 1, 8 and 32, and report
// images/s. `make bench` prints them beside plain inference and tf-keras-vis
// as one table (scripts/bench_table.py).

var benchSizes = []int{1, 8, 32}

func benchModel(b *testing.B) (*tfgraph.Model, []float32) {
	b.Helper()
	f := fixture.Load(b, "bench_resnet")
	// TFCAM_DEVICE=gpu (make bench-gpu) requires a GPU.
	m, err := tfgraph.Load(f.ModelDir, tfgraph.LoadOptions{Device: tfgraph.Device(os.Getenv("TFCAM_DEVICE"))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	h, w, c := m.InputSize()
	r := rand.New(rand.NewPCG(1, 2))
	pixels := make([]float32, 32*h*w*c)
	for i := range pixels {
		pixels[i] = r.Float32()*2 - 1
	}
	return m, pixels
}

func reportImages(b *testing.B, bs int) {
	b.ReportMetric(float64(bs*b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkPlainInference is the floor: the model's own signature, no
// gradients.
func BenchmarkPlainInference(b *testing.B) {
	m, pixels := benchModel(b)
	h, w, c := m.InputSize()
	for _, bs := range benchSizes {
		b.Run(sizeName(bs), func(b *testing.B) {
			batch := pixels[:bs*h*w*c]
			if _, _, err := m.Predict(context.Background(), batch, bs); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := m.Predict(context.Background(), batch, bs); err != nil {
					b.Fatal(err)
				}
			}
			reportImages(b, bs)
		})
	}
}

// BenchmarkExplain times each registered method alone, then the gradient
// family together (sharing one forward and one backward pass), and reports
// beside images/s each method's declared cost on this model: the forward
// passes per image it adds on copies of the image (copies/img, from its
// registration; 0 for the methods that share the one forward and backward
// pass). A method with copies runs them inside the same run: with more
// than one copy per image it is timed at batch sizes 1 and 8 only (Score-CAM
// at 32 would need ~8,000 forward passes of 160 px images in one run, more
// memory than these machines have), with more than 1,000 (Occlusion's 2,809
// patches, RISE's 4,000 masks, SS-CAM's 35·256, IS-CAM's 10·256) at batch
// size 1 only.
func BenchmarkExplain(b *testing.B) {
	m, pixels := benchModel(b)
	h, w, c := m.InputSize()
	sets := map[string][]Method{}
	var order []string
	for _, meth := range Registry() {
		if meth.Name() == "cam" {
			continue // same map as gradcam on this head; timed with it
		}
		sets[meth.Name()] = []Method{meth}
		order = append(order, meth.Name())
	}
	sets["all"] = All()
	order = append(order, "all")
	for _, name := range order {
		e, err := New(m, Config{Methods: sets[name]})
		if err != nil {
			b.Fatal(err)
		}
		var cost Cost
		for _, meth := range sets[name] {
			c := costOf(meth, e.geometry())
			cost.Copies, cost.TailCopies = cost.Copies+c.Copies, cost.TailCopies+c.TailCopies
		}
		copies := cost.Copies + cost.TailCopies
		for _, bs := range benchSizes {
			if copies > 1 && bs > 8 || copies > 1000 && bs > 1 {
				continue
			}
			b.Run(name+"/"+sizeName(bs), func(b *testing.B) {
				batch := Batch{pixels[:bs*h*w*c], bs}
				if _, err := e.Explain(context.Background(), batch, Targets{}); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := e.Explain(context.Background(), batch, Targets{}); err != nil {
						b.Fatal(err)
					}
				}
				reportImages(b, bs)
				b.ReportMetric(float64(cost.Copies), "copies/img")
				b.ReportMetric(float64(cost.TailCopies), "tail-copies/img")
			})
		}
	}
}

func sizeName(bs int) string {
	return "bs" + string(rune('0'+bs/10%10)) + string(rune('0'+bs%10))
}
