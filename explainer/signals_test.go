package explainer

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/tfgraph"
)

// sigprof is SIGPROF's bit in /proc's signal masks (signal 27 on Linux).
const sigprof = 1 << (27 - 1)

// TestExplainUnderCPUProfiler is issue 13 item 9: with Go's CPU profiler on,
// SIGPROF reached TensorFlow's threads inside oneDNN's JIT GEMM kernels,
// which run with the stack pointer in a heap buffer, and glibc aborted
// ("corrupted size vs. prev_size"). It checks the cause directly (every
// thread TensorFlow started blocks SIGPROF), then explains the demo photos
// from several goroutines with the profiler at 1 kHz, GC pressure and lazily
// built top-k graphs, and requires identical maps on every run.
func TestExplainUnderCPUProfiler(t *testing.T) {
	fixture.Need(t) // the demo model
	dir := os.Getenv("TFCAM_DEMO_MODEL")
	if dir == "" {
		dir = filepath.Join("..", ".models", "efficientnet_lite0")
	}
	m, err := tfgraph.Load(filepath.Join(dir, "model"), tfgraph.LoadOptions{Threads: 4})
	if err != nil {
		t.Fatalf("demo model (run `make setup`): %v", err)
	}
	defer m.Close()
	e, err := New(m, Config{Layer: "top_activation", Methods: []Method{GradCAM{}}})
	if err != nil {
		t.Fatal(err)
	}
	h, w, c := m.InputSize()
	const n = 4
	var px []float32
	for i, name := range []string{"chelsea.png", "coffee.png", "chelsea.png", "coffee.png"} {
		img, err := imagefile.Decode(filepath.Join(dir, "photos", name))
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]float32, h*w*c)
		if err := imagefile.ToTensor(img, w, h, c, imagefile.TF, dst); err != nil {
			t.Fatal(err)
		}
		if i >= 2 { // two more distinct images: mirrored
			for y := 0; y < h; y++ {
				for x := 0; x < w/2; x++ {
					for k := 0; k < c; k++ {
						a, b := (y*w+x)*c+k, (y*w+w-1-x)*c+k
						dst[a], dst[b] = dst[b], dst[a]
					}
				}
			}
		}
		px = append(px, dst...)
	}
	ctx := context.Background()
	want := map[int][]Result{}
	for k := 1; k <= 3; k++ {
		if want[k], err = e.Explain(ctx, Batch{px, n}, TopK(k)); err != nil {
			t.Fatal(err)
		}
	}
	checkTensorFlowThreadsBlockSIGPROF(t)

	runtime.SetCPUProfileRate(1000)
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatal(err)
	}
	defer pprof.StopCPUProfile()
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	deadline := time.Now().Add(10 * time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	runs := 0
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; time.Now().Before(deadline); it++ {
				k := 1 + (g+it)%3
				got, err := e.Explain(ctx, Batch{px, n}, TopK(k))
				if err != nil {
					t.Error(err)
					return
				}
				if d := diffResults(want[k], got); d != "" {
					t.Errorf("top-%d run under the profiler differs: %s", k, d)
					return
				}
				runtime.GC()
				mu.Lock()
				runs++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d batches explained under the CPU profiler", runs)
}

// checkTensorFlowThreadsBlockSIGPROF fails t when more threads can receive
// SIGPROF than Go itself started: Go's threads never block it, so the rest
// are TensorFlow's, which must.
func checkTensorFlowThreadsBlockSIGPROF(t *testing.T) {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatalf("no /proc (%v): cannot inspect thread signal masks; this check needs Linux's /proc", err)
	}
	open, blocked := 0, 0
	for _, task := range tasks {
		status, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "status"))
		if err != nil {
			continue // the thread exited
		}
		blk := statusField(string(status), "SigBlk:")
		mask, err := strconv.ParseUint(blk, 16, 64)
		if err != nil {
			t.Fatalf("thread %s: SigBlk %q: %v", task.Name(), blk, err)
		}
		if mask&sigprof == 0 {
			open++
		} else {
			blocked++
		}
	}
	goThreads := pprof.Lookup("threadcreate").Count()
	if open > goThreads || blocked == 0 {
		t.Errorf("%d of %d threads can receive SIGPROF but Go started only %d: TensorFlow's threads must block it (a profiler signal inside oneDNN's GEMM kernels corrupts the heap)", open, open+blocked, goThreads)
	}
}

func statusField(status, key string) string {
	for _, line := range strings.Split(status, "\n") {
		if strings.HasPrefix(line, key) {
			return strings.TrimSpace(strings.TrimPrefix(line, key))
		}
	}
	return ""
}

// diffResults describes the first difference between two explanations.
func diffResults(a, b []Result) string {
	if len(a) != len(b) {
		return "result count " + strconv.Itoa(len(a)) + " vs " + strconv.Itoa(len(b))
	}
	for i := range a {
		if len(a[i].Maps) != len(b[i].Maps) {
			return "image " + strconv.Itoa(i) + ": rank count differs"
		}
		for r := range a[i].Maps {
			for j := range a[i].Maps[r] {
				x, y := a[i].Maps[r][j], b[i].Maps[r][j]
				if x.Class != y.Class || x.Score != y.Score {
					return "image " + strconv.Itoa(i) + " rank " + strconv.Itoa(r) + ": class or score differs"
				}
				for p := range x.Normalized {
					if x.Normalized[p] != y.Normalized[p] {
						return "image " + strconv.Itoa(i) + " rank " + strconv.Itoa(r) + ": map differs at pixel " + strconv.Itoa(p)
					}
				}
			}
		}
	}
	return ""
}
