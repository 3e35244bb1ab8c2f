package explainer

import (
	"context"
	"errors"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/tfgraph"
)

// loadModel loads a fixture's SavedModel, closed when the test ends.
func loadModel(t testing.TB, name string) (*fixture.Fixture, *tfgraph.Model) {
	t.Helper()
	f := fixture.Load(t, name)
	m, err := tfgraph.Load(f.ModelDir, tfgraph.LoadOptions{InputSize: f.LoadSize(), Output: f.Meta.Output})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return f, m
}

func newExplainer(t testing.TB, name string, cfg Config) (*fixture.Fixture, *Explainer) {
	t.Helper()
	f, m := loadModel(t, name)
	if cfg.Methods == nil {
		cfg.Methods = []Method{GradCAM{}, HiResCAM{}}
	}
	e, err := New(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, e
}

func TestTargets(t *testing.T) {
	f, e := newExplainer(t, "resnet", Config{})
	in := f.Array(t, "inputs")
	logits := f.Array(t, "logits")
	probs := f.Array(t, "probs")
	n, C := in.Shape[0], logits.Shape[1]
	batch := Batch{in.F32, n}
	ctx := context.Background()
	order := func(i int, v []float32) []int {
		idx := make([]int, C)
		for c := range idx {
			idx[c] = c
		}
		sort.SliceStable(idx, func(a, b int) bool { return v[i*C+idx[a]] > v[i*C+idx[b]] })
		return idx
	}

	top1, err := e.Explain(ctx, batch, Targets{})
	if err != nil {
		t.Fatal(err)
	}
	top3, err := e.Explain(ctx, batch, TopK(3))
	if err != nil {
		t.Fatal(err)
	}
	explicit := make([]int, n)
	for i := range explicit {
		explicit[i] = (i * 3) % C
	}
	fed, err := e.Explain(ctx, batch, Classes(explicit...))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		want := order(i, logits.F32)
		for p, pr := range top1[i].Predictions {
			wantP := order(i, probs.F32)[p]
			if pr.Class != wantP || math.Abs(float64(pr.Score-probs.F32[i*C+wantP])) > 1e-5 {
				t.Errorf("image %d prediction %d: %+v, want class %d score %g", i, p, pr, wantP, probs.F32[i*C+wantP])
			}
		}
		if len(top3[i].Maps) != 3 {
			t.Fatalf("image %d: %d ranks, want 3", i, len(top3[i].Maps))
		}
		for r := 0; r < 3; r++ {
			got := top3[i].Maps[r][0]
			if got.Class != want[r] || got.Rank != r {
				t.Errorf("image %d rank %d: class %d, want %d", i, r, got.Class, want[r])
			}
			if d := math.Abs(float64(got.Score - logits.F32[i*C+want[r]])); d > 1e-4 {
				t.Errorf("image %d rank %d: score %g, logit %g", i, r, got.Score, logits.F32[i*C+want[r]])
			}
		}
		if fixture.MaxAbsDiff(top3[i].Maps[0][0].Normalized, top1[i].Maps[0][0].Normalized) > 1e-6 {
			t.Errorf("image %d: top-3's rank 0 differs from top-1", i)
		}
		if got := fed[i].Maps[0][0]; got.Class != explicit[i] || math.Abs(float64(got.Score-logits.F32[i*C+explicit[i]])) > 1e-4 {
			t.Errorf("image %d: explicit class %d gave class %d score %g", i, explicit[i], got.Class, got.Score)
		}
		if explicit[i] != want[0] && fixture.MaxAbsDiff(fed[i].Maps[0][0].Normalized, top1[i].Maps[0][0].Normalized) < 1e-3 {
			t.Errorf("image %d: map for class %d equals the top-1 map", i, explicit[i])
		}
	}
}

func TestExplainErrors(t *testing.T) {
	f, e := newExplainer(t, "resnet", Config{})
	in := f.Array(t, "inputs")
	n := in.Shape[0]
	ctx := context.Background()
	cases := []struct {
		name    string
		batch   Batch
		targets Targets
		want    string
	}{
		{"class out of range", Batch{in.F32, n}, Classes(0, 1, 2, 3, 4, 10), "target class 10 of image 5 is out of range [0, 10)"},
		{"negative class", Batch{in.F32, n}, Classes(-1, 1, 2, 3, 4, 5), "out of range"},
		{"class count", Batch{in.F32, n}, Classes(1, 2), "2 target classes for a batch of 6"},
		{"batch size", Batch{in.F32[:100], 1}, Targets{}, "not 1 images of 32x32x3"},
		{"top-k too large", Batch{in.F32, n}, TopK(11), "top-11 asked but"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.Explain(ctx, c.batch, c.targets)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
	m, err := tfgraph.Load(f.ModelDir, tfgraph.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, c := range []struct{ layer, want string }{
		{"avg_pool", "need a spatial 4-D layer"},
		{"conv3_blok1_out", `did you mean "conv3_block1_out"`},
	} {
		if _, err := New(m, Config{Layer: c.layer, Methods: All()}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("layer %q: error %v, want %q", c.layer, err, c.want)
		}
	}
	if _, err := ParseMethods("gradcam,nope"); err == nil || !strings.Contains(err.Error(), `unknown method "nope"`) {
		t.Errorf("ParseMethods: %v", err)
	}
}

// TestPointingGame explains the shapes evaluation set and counts how often
// each method's maximum falls inside the true object box, with the pointing
// game's usual tolerance (Zhang et al. 2016: 15 px at 224 px, scaled to the
// input: 4 px at 64 px). Grad-CAM, Grad-CAM++ and HiRes-CAM must reach 95 %.
// Strict (no tolerance) hits are logged beside.
func TestPointingGame(t *testing.T) {
	for name, acc := range pointingGame(t, All()) {
		switch name {
		case "gradcam", "gradcam++", "hirescam":
			if acc < 0.95 {
				t.Errorf("%s: pointing game %.3f < 0.95", name, acc)
			}
		}
	}
}

// pointingGame explains the shapes evaluation set with methods, logs each
// method's pointing-game score (tolerant and strict) and returns the
// tolerant ones by method name.
func pointingGame(t *testing.T, methods []Method) map[string]float64 {
	t.Helper()
	f, e := newExplainer(t, "shapes", Config{Methods: methods})
	imgs := f.Array(t, "eval_images")
	boxes := f.Array(t, "eval_boxes")
	labels := f.Array(t, "eval_labels")
	n, h, w, c := imgs.Shape[0], imgs.Shape[1], imgs.Shape[2], imgs.Shape[3]
	hits := make([]int, len(e.Methods()))
	strict := make([]int, len(e.Methods()))
	tol := int32(math.Round(15 * float64(h) / 224))
	const bs = 50
	for start := 0; start < n; start += bs {
		end := min(start+bs, n)
		classes := make([]int, end-start)
		for i := range classes {
			classes[i] = int(labels.I32[start+i])
		}
		res, err := e.Explain(context.Background(), Batch{imgs.F32[start*h*w*c : end*h*w*c], end - start}, Classes(classes...))
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			b := boxes.I32[(start+i)*4 : (start+i)*4+4]
			for j, m := range r.Maps[0] {
				best := 0
				for p, v := range m.Normalized {
					if v > m.Normalized[best] {
						best = p
					}
				}
				x, y := int32(best%w), int32(best/w)
				dx := max(b[0]-x, x-b[2], 0)
				dy := max(b[1]-y, y-b[3], 0)
				if dx <= tol && dy <= tol {
					hits[j]++
				}
				if dx == 0 && dy == 0 {
					strict[j]++
				}
			}
		}
	}
	scores := map[string]float64{}
	var summary []string
	for j, m := range e.Methods() {
		scores[m.Name()] = float64(hits[j]) / float64(n)
		summary = append(summary, m.Name()+"="+strconv.FormatFloat(scores[m.Name()], 'f', 3, 64)+
			" (strict "+strconv.FormatFloat(float64(strict[j])/float64(n), 'f', 3, 64)+")")
	}
	t.Logf("pointing game on %d shapes images, tolerance %d px: %s", n, tol, strings.Join(summary, ", "))
	return scores
}

// TestMemoryStable runs 1,000 batches and checks that the resident set does
// not grow: every TensorFlow tensor must be freed when its batch is done.
// One leaked map of a batch (4 × 64 × 64 float32, 64 KiB) over the 800
// measured batches is 50 MiB, far above the 20 MiB allowed for allocator
// noise.
func TestMemoryStable(t *testing.T) {
	f, e := newExplainer(t, "shapes", Config{Methods: All(), Raw: true, LowRes: true})
	in := f.Array(t, "inputs")
	batch := Batch{in.F32[:4*64*64*3], 4}
	run := func(k int) {
		for i := 0; i < k; i++ {
			if _, err := e.Explain(context.Background(), batch, Targets{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(200) // warm up allocators and TF's caches
	before := rssMB(t)
	run(800)
	after := rssMB(t)
	t.Logf("RSS after 200 batches %.1f MB, after 1000 %.1f MB", before, after)
	if after-before > 20 {
		t.Errorf("RSS grew by %.1f MB over 800 batches", after-before)
	}
}

func rssMB(t testing.TB) float64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatalf("reading RSS: %v", err)
	}
	fields := strings.Fields(string(raw))
	pages, _ := strconv.Atoi(fields[1])
	return float64(pages*os.Getpagesize()) / (1 << 20)
}

// TestImagesPerRun: Score-CAM on the 160 px ResNet (256 channels, widest
// layer 80×80×32) runs 256 copies per image, so a run may hold
// ⌊2²⁸/(256·204800)⌋ = 5 images by default, ⌊(2³¹−1)/(256·204800)⌋ = 40 at
// TensorFlow's limit; gradient methods are not limited.
func TestImagesPerRun(t *testing.T) {
	_, e := newExplainer(t, "bench_resnet", Config{Methods: []Method{GradCAM{}, ScoreCAM{}}})
	if got := e.fw.MaxActivation(); got != 80*80*32 {
		t.Fatalf("MaxActivation = %d, want %d", got, 80*80*32)
	}
	if per, err := e.imagesPerRun(1000); err != nil || per != 5 {
		t.Errorf("imagesPerRun = %d, %v; want 5", per, err)
	}
	_, big := newExplainer(t, "bench_resnet", Config{Methods: []Method{GradCAM{}, ScoreCAM{}}, MaxTensorElements: 1 << 40})
	if per, err := big.imagesPerRun(1000); err != nil || per != 40 {
		t.Errorf("at TensorFlow's limit: imagesPerRun = %d, %v; want 40", per, err)
	}
	_, g := newExplainer(t, "bench_resnet", Config{Methods: []Method{GradCAM{}}})
	if per, err := g.imagesPerRun(1000); err != nil || per != 1000 {
		t.Errorf("gradcam imagesPerRun = %d, %v; want 1000", per, err)
	}
}

// TestChunkedCopies: with a tensor budget of 5 copies' worth, every method
// that runs copies of each image splits them into sequential chunks (and
// a run into one image at a time) and gives the maps it gives unchunked. A
// budget below one image's own forward pass is an error naming the limit.
func TestChunkedCopies(t *testing.T) {
	t.Parallel() // one of the longest: overlaps the others (and their Python references)
	f, m := loadModel(t, "resnet")
	in := f.Array(t, "inputs")
	// Two images: chunking is per image, and two show a run split into
	// one image at a time.
	n := 2
	in.F32 = in.F32[:n*len(in.F32)/in.Shape[0]]
	probe, err := New(m, Config{Methods: []Method{GradCAM{}}})
	if err != nil {
		t.Fatal(err)
	}
	// Every registered method that runs more than 5 copies of an image at
	// this layer (by its declared cost, which New holds it to), and the
	// baseline variant of Score-CAM, whose extra copy runs with the masks.
	// Count options above 8 are set to 8, and occlusion's patch (whose
	// default scales with the input: 225 patches here) to 8 px with stride
	// 4 (49 patches), to keep the test short.
	var methods []Method
	for _, in := range Methods() {
		spec := in.Name
		if in.Name == "occlusion" {
			spec += ":size=8:stride=4"
		}
		for _, o := range in.Options {
			if d, ok := o.Default.(int); ok && d > 8 {
				spec += ":" + o.Name + "=8"
			}
		}
		ms, err := ParseMethods(spec)
		if err != nil {
			t.Fatal(err)
		}
		if c := costOf(ms[0], probe.geometry()); c.Copies+c.TailCopies > 5 {
			methods = append(methods, ms[0])
		}
	}
	if len(methods) < 9 {
		t.Fatalf("only %d registered methods run copies: %v", len(methods), methods)
	}
	methods = append(methods, ScoreCAM{Baseline: "blur"})
	ctx := context.Background()
	plain, err := New(m, Config{Methods: methods, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	want, err := plain.Explain(ctx, Batch{in.F32, n}, Top1())
	if err != nil {
		t.Fatal(err)
	}
	full := plain.fw.MaxActivation()
	chunked, err := New(m, Config{Methods: methods, Seed: 3, MaxTensorElements: 5 * full})
	if err != nil {
		t.Fatal(err)
	}
	for _, meth := range methods {
		if c := chunked.chunks(meth); c < 2 {
			t.Errorf("%s: %d chunk(s) under a 5-copy budget", meth.Name(), c)
		}
	}
	if per, err := chunked.imagesPerRun(n); err != nil || per != 1 {
		t.Errorf("imagesPerRun = %d, %v; want 1", per, err)
	}
	got, err := chunked.Explain(ctx, Batch{in.F32, n}, Top1())
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		for j, meth := range methods {
			if d := fixture.MaxAbsDiff(got[i].Maps[0][j].Normalized, want[i].Maps[0][j].Normalized); d > 1e-5 {
				t.Errorf("image %d, %s: chunked differs by %g", i, meth.Name(), d)
			}
		}
	}
	tiny, err := New(m, Config{Methods: []Method{ScoreCAM{}}, MaxTensorElements: full - 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tiny.Explain(ctx, Batch{in.F32, n}, Top1()); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("budget below one image: %v", err)
	}
}

// TestConcurrentExplain runs Explain from several goroutines at once, with
// top-1 and top-2 targets (top-2's graph is built while other batches run),
// and checks every result against a sequential run.
func TestConcurrentExplain(t *testing.T) {
	f, e := newExplainer(t, "resnet", Config{Methods: []Method{GradCAM{}, ScoreCAM{TopN: 4}}})
	in := f.Array(t, "inputs")
	n := in.Shape[0]
	ctx := context.Background()
	want1, err := e.Explain(ctx, Batch{in.F32, n}, Top1())
	if err != nil {
		t.Fatal(err)
	}
	const workers = 4
	results := make([][]Result, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			targets := Top1()
			if g%2 == 1 {
				targets = TopK(2)
			}
			<-start // all at once: two of them ask for the top-2 graph together
			for it := 0; it < 3 && errs[g] == nil; it++ {
				results[g], errs[g] = e.Explain(ctx, Batch{in.F32, n}, targets)
			}
		}()
	}
	close(start)
	wg.Wait()
	want2, err := e.Explain(ctx, Batch{in.F32, n}, TopK(2))
	if err != nil {
		t.Fatal(err)
	}
	for g := 0; g < workers; g++ {
		if errs[g] != nil {
			t.Fatalf("goroutine %d: %v", g, errs[g])
		}
		want := want1
		if g%2 == 1 {
			want = want2
		}
		for i := range want {
			for r := range want[i].Maps {
				for m := range want[i].Maps[r] {
					if d := fixture.MaxAbsDiff(results[g][i].Maps[r][m].Normalized, want[i].Maps[r][m].Normalized); d > 1e-6 {
						t.Errorf("goroutine %d, image %d, rank %d, %s: differs from the sequential run by %g", g, i, r, want[i].Maps[r][m].Method, d)
					}
				}
			}
		}
	}
}

// TestNewRefusesImpossibleCopies: a method whose copies of one image
// cannot run — more values than TensorFlow indexes in one tensor, or more
// than MaxChunks parts under the tensor budget — is refused by New,
// naming the method and what to change, before a graph of thousands of
// parts is built (which took minutes), not once per image.
func TestNewRefusesImpossibleCopies(t *testing.T) {
	_, m := loadModel(t, "shapes")
	for _, tc := range []struct {
		name  string
		cfg   Config
		wants []string
	}{
		{"too many values", Config{Methods: []Method{SmoothGrad{Samples: 200000}}}, []string{"smoothgrad", "last_conv", "200000 copies", "TensorFlow can index"}},
		{"too many chunks", Config{Methods: []Method{RISE{Samples: 5000}}, MaxTensorElements: 1}, []string{"rise", "last_conv", "chunks", "--max-tensor-mb"}},
	} {
		_, err := New(m, tc.cfg)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, err, w)
			}
		}
	}
}

// TestNewContextStopsChunkedBuild: building a method whose copies run in
// chunks stops between two chunks once its context is cancelled, with the
// cancellation's cause; the same configuration builds without the
// cancellation (so the error comes from the stop, not the method).
func TestNewContextStopsChunkedBuild(t *testing.T) {
	_, m := loadModel(t, "resnet")
	probe, err := New(m, Config{Methods: []Method{GradCAM{}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Methods: []Method{ScoreCAM{}}, MaxTensorElements: 5 * probe.fw.MaxActivation()}
	stopped := errors.New("test: stopped")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(stopped)
	if e, err := NewContext(ctx, m, cfg); !errors.Is(err, stopped) || e != nil {
		t.Errorf("NewContext under a cancelled context: %v, %v; want the cause", e, err)
	}
	e, err := NewContext(context.Background(), m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c := e.chunks(ScoreCAM{}); c < 2 {
		t.Errorf("scorecam runs in %d chunk(s): the test needs it chunked", c)
	}
}
