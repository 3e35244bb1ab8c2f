package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tfcam/tfcam/internal/fixture"
)

// zeroPNG is a w×h RGB PNG of black pixels: a few hundred KB that
// decode to w·h·3 bytes — a decompression bomb.
func zeroPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	return fixture.ZeroPNG(w, h, 2)
}

// peakRSS resets the process's peak resident set (Linux: clear_refs 5)
// and returns a function reading the peak since, in bytes.
func peakRSS(t *testing.T) func() int64 {
	t.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("resetting the peak RSS (/proc/self/clear_refs): %v; this test measures memory on Linux", err)
	}
	return func() int64 {
		f, err := os.Open("/proc/self/status")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				return kb << 10
			}
		}
		t.Fatal("no VmHWM in /proc/self/status")
		return 0
	}
}

// TestMemoryBounds: the memory a request can take is bounded and stated.
// A 16384×16000 PNG bomb (1 MB that decodes to 786 MB, 8.6 GB of RSS
// before the budget) is answered 400 from its header with the process's
// peak RSS nearly unchanged; 40 concurrent 12 MiB bodies (1.3 GB of
// bodies, parsed JSON and decoded bytes) fit within the in-flight budget
// plus 500 MB (the target), the ones that do not fit answered 429; a
// body that could never fit is answered 413.
func TestMemoryBounds(t *testing.T) {
	const budget = 64 << 20
	s := startServer(t, Options{MaxBodyBytes: 16 << 20, MaxInflightBytes: budget, Workers: 2}, nil)
	url := s.url + "/v1/models/shapes:explain"

	t.Run("decompression bomb", func(t *testing.T) {
		bomb := zeroPNG(t, 16384, 16000)
		peak := peakRSS(t)
		before := peak()
		a, err := post(t, context.Background(), url, "image/png", bomb)
		if err != nil {
			t.Fatal(err)
		}
		grew := peak() - before
		t.Logf("%d-byte bomb: %d %s; peak RSS +%d MB", len(bomb), a.code, a.err.Error, grew>>20)
		if a.code != http.StatusBadRequest || !strings.Contains(a.err.Error, "budget") {
			t.Errorf("answer %d %q, want 400 naming the decoder's budget", a.code, a.err.Error)
		}
		if grew > 100<<20 {
			t.Errorf("peak RSS grew %d MB on a bomb refused from its header (want < 100 MB)", grew>>20)
		}
	})

	t.Run("concurrent bodies", func(t *testing.T) {
		// One JSON body shared by every request (the client's memory
		// stays one body): an instance that is not an image, so an
		// admitted request is read, parsed, decoded and answered 400.
		junk := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("not an image "), 12<<20/13*3/4))
		body := []byte(fmt.Sprintf(`{"instances": [{"b64": %q}]}`, junk))
		peak := peakRSS(t)
		before := peak()
		const n = 40
		codes := make(chan int, n)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, err := post(t, context.Background(), url, "application/json", body)
				if err != nil {
					t.Error(err)
					return
				}
				codes <- a.code
			}()
		}
		wg.Wait()
		close(codes)
		count := map[int]int{}
		for c := range codes {
			count[c]++
		}
		grew := peak() - before
		t.Logf("%d bodies of %d MB: answers %v; peak RSS +%d MB (budget %d MB)", n, len(body)>>20, count, grew>>20, budget>>20)
		if count[http.StatusBadRequest]+count[http.StatusTooManyRequests] != n || count[http.StatusBadRequest] == 0 {
			t.Errorf("answers %v: want 400 (admitted, not an image) or 429 (over the budget), at least one admitted", count)
		}
		if grew > budget+500<<20 {
			t.Errorf("peak RSS grew %d MB: over the in-flight budget (%d MB) + 500 MB", grew>>20, budget>>20)
		}
		if got := s.inflightUsed.Load(); got != 0 {
			t.Errorf("%d bytes still charged after every answer", got)
		}
	})

	t.Run("busy and never fits", func(t *testing.T) {
		img := shapesImages(t, 1)[0]
		// Most of the budget held by another request: 429, Retry-After.
		if !s.inflight.TryAcquire(budget - 1<<10) {
			t.Fatal("budget in use before the test")
		}
		a, err := post(t, context.Background(), url, "image/png", img)
		s.inflight.Release(budget - 1<<10)
		if err != nil {
			t.Fatal(err)
		}
		if a.code != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" || !strings.Contains(a.err.Error, "--max-inflight-mb") {
			t.Errorf("with the budget held: %d %q (Retry-After %q), want 429 naming --max-inflight-mb", a.code, a.err.Error, a.header.Get("Retry-After"))
		}
		if a, err = post(t, context.Background(), url, "image/png", img); err != nil || a.code != http.StatusOK {
			t.Errorf("with the budget free again: %d %v %q, want 200", a.code, err, a.err.Error)
		}
		// A body whose charge exceeds the whole budget: 413.
		big := bytes.Repeat([]byte{0}, budget/3+1)
		if a, err = post(t, context.Background(), url, "image/png", big); err != nil || a.code != http.StatusRequestEntityTooLarge {
			t.Errorf("a %d MB body (×3 over the %d MB budget): %d %v %q, want 413", len(big)>>20, budget>>20, a.code, err, a.err.Error)
		}
	})
}

// TestRequestCost: a request dearer than MaxRequestCost passes (images ×
// classes × (1 + each method's copies)) or explaining more classes than
// MaxTopK is answered 400 before anything runs, naming the limit; one
// within both runs.
func TestRequestCost(t *testing.T) {
	s := startServer(t, Options{MaxRequestCost: 4096, MaxTopK: 2}, nil)
	img := base64.StdEncoding.EncodeToString(shapesImages(t, 1)[0])
	url := s.url + "/v1/models/shapes:explain"
	cases := []struct {
		name, method, class string
		images              int
		code                int
		want                string
	}{
		{"rise of 170000 masks", "rise:samples=170000", "top1", 1, 400, "--max-request-cost"},
		{"2 classes × 2 images × 1025 passes", "rise:samples=1024", "top2", 2, 400, "4100 passes"},
		{"2 classes × 1 image × 1025 passes", "rise:samples=1024", "top2", 1, 200, ""},
		{"3 classes", "gradcam", "top3", 1, 400, "--max-top-k"},
		{"gradcam, 4 images", "gradcam,gradcam++", "top2", 4, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runs := s.Runs("shapes")
			inst := strings.TrimSuffix(strings.Repeat(fmt.Sprintf(`{"b64": %q},`, img), tc.images), ",")
			body := fmt.Sprintf(`{"instances": [%s], "method": %q, "class": %q}`, inst, tc.method, tc.class)
			a, err := post(t, context.Background(), url, "application/json", []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if a.code != tc.code || !strings.Contains(a.err.Error, tc.want) {
				t.Errorf("answer %d %q, want %d with %q", a.code, a.err.Error, tc.code, tc.want)
			}
			if tc.code != 200 && s.Runs("shapes") != runs {
				t.Errorf("a refused request ran")
			}
		})
	}
}

// TestDearLane: while a dear request (RISE: 65 passes per image, over
// CheapPasses) is held in its run, a cheap one (Grad-CAM) is answered:
// the dear lane never holds up the cheap one. The outcome does not depend
// on timing: the dear run is held until the cheap answer is in (a
// 2-minute context is only a hang guard).
func TestDearLane(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	s := startServer(t, Options{MaxBatch: 4, BatchTimeout: time.Millisecond, RequestTimeout: 3 * time.Minute}, func(s *Server) {
		s.models["shapes"].testRun = func(jobs []*job) error {
			if jobs[0].spec != nil && strings.HasPrefix(jobs[0].spec.spec, "rise") {
				<-release
			}
			return nil
		}
	})
	t.Cleanup(unblock) // before the server's cleanup, which waits for the run
	img := base64.StdEncoding.EncodeToString(shapesImages(t, 1)[0])
	url := s.url + "/v1/models/shapes:explain"
	body := func(method string) []byte {
		return []byte(fmt.Sprintf(`{"instances": [{"b64": %q}], "method": %q}`, img, method))
	}
	dear := make(chan answer, 1)
	go func() {
		a, err := post(t, context.Background(), url, "application/json", body("rise:samples=64"))
		if err != nil {
			t.Error(err)
		}
		dear <- a
	}()
	m := s.models["shapes"]
	waitFor(t, "the dear request to run", func() bool {
		m.dear.mu.Lock()
		defer m.dear.mu.Unlock()
		return m.dear.running
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard
	defer cancel()
	a, err := post(t, ctx, url, "application/json", body("gradcam"))
	if err != nil || a.code != http.StatusOK {
		t.Fatalf("a cheap request while a dear one runs: %d %v %q, want 200 (not held up)", a.code, err, a.err.Error)
	}
	select {
	case <-dear:
		t.Fatal("the dear request was answered while its run was held")
	default:
	}
	unblock()
	if a := <-dear; a.code != http.StatusOK {
		t.Errorf("the dear request: %d %q", a.code, a.err.Error)
	}
}
