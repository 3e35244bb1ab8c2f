package engine_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tfcam/tfcam/engine"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/tfimage"
)

// TestRetryAlone: a failed batch is split until the failures sit with the
// elements that cause them; the others succeed, in order.
func TestRetryAlone(t *testing.T) {
	for _, c := range []struct {
		name      string
		batch     []int
		bad       []int // elements whose presence fails a run
		wantOK    []int
		wantFail  []int
		wantCalls int
	}{
		{"all good: one run", []int{1, 2, 3}, nil, []int{1, 2, 3}, nil, 1},
		{"one bad of three", []int{1, 2, 3}, []int{2}, []int{1, 3}, []int{2}, 4},
		{"all bad", []int{1, 2}, []int{1, 2}, nil, []int{1, 2}, 3},
		{"single bad", []int{7}, []int{7}, nil, []int{7}, 1},
		{"empty batch", nil, nil, nil, nil, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			var failed []int
			ok := engine.RetryAlone(c.batch, func(b []int) error {
				calls++
				for _, x := range b {
					if slices.Contains(c.bad, x) {
						return fmt.Errorf("bad %d", x)
					}
				}
				return nil
			}, func(x int, err error) {
				if err.Error() != fmt.Sprintf("bad %d", x) {
					t.Errorf("element %d failed with %q, not its own error", x, err)
				}
				failed = append(failed, x)
			})
			if !slices.Equal(ok, c.wantOK) || !slices.Equal(failed, c.wantFail) || calls != c.wantCalls {
				t.Errorf("ok %v failed %v calls %d; want %v %v %d", ok, failed, calls, c.wantOK, c.wantFail, c.wantCalls)
			}
		})
	}
}

func TestConcat(t *testing.T) {
	got := engine.Concat([][]float32{{1, 2}, {}, {3}}, func(x []float32) []float32 { return x })
	if !slices.Equal(got, []float32{1, 2, 3}) {
		t.Errorf("Concat = %v", got)
	}
}

// recorder is a Stages that records batches and writes; runs fail when a
// batch holds an image named in failRun, writes when named in failWrite.
type recorder struct {
	mu                 sync.Mutex
	batches            [][]string
	written            []string
	failRun, failWrite string
}

func name(it *engine.Item) string { return filepath.Base(it.Input.Path) }

func (r *recorder) RunBatch(ctx context.Context, batch []*engine.Item) error {
	var names []string
	for _, it := range batch {
		names = append(names, name(it))
		if len(it.Decoded.Pixels) != 4*4*3 {
			return fmt.Errorf("%s: %d pixels, want 48", name(it), len(it.Decoded.Pixels))
		}
	}
	r.mu.Lock()
	r.batches = append(r.batches, names)
	r.mu.Unlock()
	if r.failRun != "" && slices.Contains(names, r.failRun) {
		return errors.New("run failed")
	}
	return nil
}

func (r *recorder) Write(ctx context.Context, it *engine.Item) error {
	if name(it) == r.failWrite {
		return errors.New("write failed")
	}
	r.mu.Lock()
	r.written = append(r.written, name(it))
	r.mu.Unlock()
	return nil
}

// counter is a Progress that counts.
type counter struct {
	mu               sync.Mutex
	ok, failed, fins int
	notes            []string
}

func (c *counter) Add(ok, failed int) { c.mu.Lock(); c.ok += ok; c.failed += failed; c.mu.Unlock() }
func (c *counter) Note(f string, a ...any) {
	c.mu.Lock()
	c.notes = append(c.notes, fmt.Sprintf(f, a...))
	c.mu.Unlock()
}
func (c *counter) Finish() { c.mu.Lock(); c.fins++; c.mu.Unlock() }

// images writes n 4×4 PNGs (and one broken file, "broken.png", at index
// brokenAt when ≥ 0) and returns them as inputs in order.
func images(t *testing.T, n, brokenAt int) []inputs.Input {
	dir := t.TempDir()
	var ins []inputs.Input
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("img%02d.png", i))
		if i == brokenAt {
			p = filepath.Join(dir, "broken.png")
			if err := os.WriteFile(p, []byte("not a png"), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			img := image.NewRGBA(image.Rect(0, 0, 4, 4))
			img.Set(1, 1, color.RGBA{uint8(i), 0, 0, 255})
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
		ins = append(ins, inputs.Input{Path: p, Key: filepath.Base(p)})
	}
	return ins
}

// TestRun: batches are formed in input order, a bad file is skipped, a
// failing image fails alone, a failing write fails only its image, and
// the summary and progress agree.
func TestRun(t *testing.T) {
	dec, err := tfimage.NewDecoder(tfimage.DecodeOptions{Width: 4, Height: 4, Channels: 3, Preprocess: "raw", ViewSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	ins := images(t, 10, 3)
	st := &recorder{failRun: "img05.png", failWrite: "img08.png"}
	prog := &counter{}
	e := &engine.Engine{Decoder: dec, Batch: 4, Workers: 3, Writers: 1, MaxBytes: 1 << 20, Progress: prog}
	sum, err := e.Run(context.Background(), slices.Values(ins), st)
	if err != nil {
		t.Fatal(err)
	}
	// broken.png skipped, img05 failed its run, img08 its write.
	if sum.Done != 7 || sum.Failed != 3 || sum.Interrupted {
		t.Errorf("summary %+v, want 7 done, 3 failed", sum)
	}
	if prog.ok != 7 || prog.failed != 3 || prog.fins != 1 {
		t.Errorf("progress ok %d failed %d finished %d", prog.ok, prog.failed, prog.fins)
	}
	// In order: the first batch holds the first four good images.
	if want := []string{"img00.png", "img01.png", "img02.png", "img04.png"}; !slices.Equal(st.batches[0], want) {
		t.Errorf("first batch %v, want %v", st.batches[0], want)
	}
	want := []string{"img00.png", "img01.png", "img02.png", "img04.png", "img06.png", "img07.png", "img09.png"}
	if !slices.Equal(st.written, want) {
		t.Errorf("written %v, want %v (Writers 1 keeps input order)", st.written, want)
	}
	notes := strings.Join(prog.notes, "\n")
	for _, w := range []string{"failed " + ins[5].Path + ": run failed", "failed " + ins[8].Path + ": write failed"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
	// The unreadable file: its reader's error names it, once.
	if n := strings.Count(notes, ins[3].Path); n != 1 || !strings.Contains(notes, "failed: ") {
		t.Errorf("notes name %s %d times (want once, in a \"failed: \" line):\n%s", ins[3].Path, n, notes)
	}
}

// TestRunCancelled: a run whose context is cancelled before it starts
// feeds nothing and says it was interrupted.
func TestRunCancelled(t *testing.T) {
	dec, err := tfimage.NewDecoder(tfimage.DecodeOptions{Width: 4, Height: 4, Channels: 3, Preprocess: "raw", ViewSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st := &recorder{}
	sum, err := (&engine.Engine{Decoder: dec, Batch: 2}).Run(ctx, slices.Values(images(t, 5, -1)), st)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted || sum.Done != 0 || len(st.batches) != 0 {
		t.Errorf("summary %+v, batches %v: want interrupted, nothing run", sum, st.batches)
	}
}

func TestRunChecksSettings(t *testing.T) {
	if _, err := (&engine.Engine{}).Run(context.Background(), slices.Values([]inputs.Input(nil)), &recorder{}); err == nil {
		t.Error("Batch 0 accepted")
	}
}

// failingSink fails the writes of the images up to and including index
// until (every write when until is -1), as a store that is gone does.
type failingSink struct {
	recorder
	until int
}

func (f *failingSink) Write(ctx context.Context, it *engine.Item) error {
	if f.until == -1 || it.Seq <= f.until {
		return errors.New("connection refused")
	}
	return f.recorder.Write(ctx, it)
}

// TestRunStoreDown: reads and writes failing in a row stop a run
// (ErrStoreDown) after StoreDown.Failures of them over StoreDown.After,
// with only the images already in flight finished; a shorter run of
// failures, or one within After, is survived; an undecodable or missing
// input never counts (it is the input's fault, not the store's).
func TestRunStoreDown(t *testing.T) {
	dec, err := tfimage.NewDecoder(tfimage.DecodeOptions{Width: 4, Height: 4, Channels: 3, Preprocess: "raw", ViewSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	const n, batch, workers = 60, 2, 1
	ins := images(t, n, -1)
	// One image, then files that are not there.
	broken := images(t, 1, -1)
	for i := 1; i < n; i++ {
		broken = append(broken, inputs.Input{Path: broken[0].Path + fmt.Sprintf(".missing%d", i), Key: fmt.Sprintf("m%d", i)})
	}
	cases := []struct {
		name     string
		in       []inputs.Input
		until    int // writes fail up to this image (-1: all; -2: none)
		down     engine.StoreDown
		stops    bool
		done     int
		failedLE int
	}{
		{"every write fails: stops", ins, -1, engine.StoreDown{Failures: 5, After: time.Nanosecond}, true, 0, 5 + 5*batch + workers},
		{"the first 7 fail, then it is back", ins, 6, engine.StoreDown{Failures: 10, After: time.Nanosecond}, false, n - 7, 7},
		{"failures within After", ins, -1, engine.StoreDown{Failures: 5, After: time.Hour}, false, 0, n},
		{"off", ins, -1, engine.StoreDown{Failures: -1}, false, 0, n},
		{"missing inputs are not the store's fault", broken, -2, engine.StoreDown{Failures: 5, After: time.Nanosecond}, false, 1, n - 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := &failingSink{until: tc.until}
			e := &engine.Engine{Decoder: dec, Batch: batch, Workers: workers, Writers: 1, MaxBytes: 1 << 20, StoreDown: tc.down}
			sum, err := e.Run(context.Background(), slices.Values(tc.in), st)
			if stopped := errors.Is(err, engine.ErrStoreDown); stopped != tc.stops || (err != nil && !stopped) {
				t.Fatalf("error %v, want ErrStoreDown %v", err, tc.stops)
			}
			if tc.stops && !strings.Contains(err.Error(), "connection refused") {
				t.Errorf("error %q does not say what failed", err)
			}
			if sum.Done != tc.done || sum.Failed > tc.failedLE || (!tc.stops && sum.Done+sum.Failed != len(tc.in)) {
				t.Errorf("summary %+v: want %d done, at most %d failed, all %d seen unless stopped", sum, tc.done, tc.failedLE, len(tc.in))
			}
		})
	}
}

// TestFailureLine: a failure names its input once, whether or not the
// error already does.
func TestFailureLine(t *testing.T) {
	for _, c := range []struct {
		what, path string
		err        error
		want       string
	}{
		{"failed", "a/b.png", errors.New("run failed"), "failed a/b.png: run failed"},
		{"failed", "a/b.png", errors.New(`imagefile: "a/b.png": not an image`), `failed: imagefile: "a/b.png": not an image`},
		{"not written", "s3://x/y.jpg", errors.New("store down"), "not written s3://x/y.jpg: store down"},
	} {
		if got := engine.FailureLine(c.what, c.path, c.err); got != c.want {
			t.Errorf("FailureLine(%q, %q, %v) = %q, want %q", c.what, c.path, c.err, got, c.want)
		}
	}
}
