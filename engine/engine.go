package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/storage"
	"github.com/tfcam/tfcam/tfgraph"
	"github.com/tfcam/tfcam/tfimage"
)

// The data path every command shares, top to bottom:
//
//	inputs → read + decode (workers, TensorFlow's kernels) → batch (in input
//	order) → one graph run per batch (Stages.RunBatch) → outputs (workers,
//	Stages.Write)
//
// Channels between the steps are bounded, so memory is bounded by
// Engine.Batch and Engine.Workers whatever the number of images, and every step runs
// while the others do: the next batch is decoded while one runs, and the
// previous one is written.

// Item is one image on its way through the engine.
type Item struct {
	// Seq is its position in the run's input order, from 0.
	Seq int
	// Input is the image: where it is read from and its output key.
	Input inputs.Input
	// Decoded is its decoded model input and view; nil until decoded.
	Decoded *tfimage.Decoded
	// Err is why it could not be read or decoded.
	Err error
	// Timings of its steps; Run is its share of its batch's run.
	Read, Decode, Run time.Duration
	// Result is what Stages.RunBatch filled in.
	Result explainer.Result

	readFailed bool // Err is from reading it, not decoding it
}

// Release frees the item's C memory; the engine calls it once the item
// is written or has failed.
func (it *Item) Release() {
	it.Decoded.Release()
}

// Stages are what a command does with the engine's batches and images.
type Stages interface {
	// RunBatch runs one batch through the graph and fills each item's
	// Result. An error fails the batch; the engine then retries its
	// images one by one, so that one bad image fails alone. It is called
	// from one goroutine, with a context that is not cancelled by the
	// run's: a batch that has started finishes.
	RunBatch(ctx context.Context, batch []*Item) error
	// Write stores or prints one image's outcome; it runs on several
	// goroutines at once (Engine.Writers).
	Write(ctx context.Context, it *Item) error
}

// Progress is told what happens to each image; the command line draws
// it, a library user may count or log. Its methods are called from
// several goroutines.
type Progress interface {
	// Add counts images finished: ok written, failed skipped or failed.
	Add(ok, failed int)
	// Note reports one event (an image skipped or failed, and why).
	Note(format string, args ...any)
	// Finish is called once, when the run ends.
	Finish()
}

// RunWatcher is a Progress that also wants to know when a graph run starts
// and ends, to show signs of life during a long one (a perturbation
// method's batch can run for minutes).
type RunWatcher interface {
	// Running is called with the batch's image count as its run starts,
	// and with 0 when it ends.
	Running(images int)
}

// Engine holds the settings of a run. The zero values of Workers and
// Writers mean one goroutine each; Batch must be at least 1.
type Engine struct {
	// Decoder decodes each file into the model's input and a view.
	Decoder *tfimage.Decoder
	// Batch is the most images in one graph run.
	Batch int
	// Workers read and decode files at once.
	Workers int
	// Writers run Stages.Write at once (default Workers; 1 keeps output
	// in input order).
	Writers int
	// MaxBytes is the largest file read (imagefile.ErrTooLarge beyond).
	MaxBytes int64
	// Progress is told of every image (default: nothing).
	Progress Progress
	// StoreDown stops a run whose reads and writes all fail, as they do
	// when the object store or the disk is gone, instead of failing every
	// image after its retries for as long as the inputs last.
	StoreDown StoreDown
	// Halt, when set, is called once if the run stops early (StoreDown),
	// with the reason: cancel there what feeds the run (a bucket listing
	// blocked on the store) — Run returns when the feeding returns.
	Halt func(error)
	// StopGrace is how long a graph run in flight may go on once Run's
	// context is cancelled (Ctrl-C, SIGTERM): then it is stopped at its
	// next chunk of copies (tfgraph.AbortOnCancel: the model's stop flag;
	// the model takes no more runs) and its images are left for the next
	// run (Summary.Abandoned). 0 waits for it however long it takes — a
	// batch of Score-CAM or a sanity check can take minutes. What is
	// written stays consistent either way.
	StopGrace time.Duration

	objects storage.Pool
}

// StoreDown says when a run stops for failing reads and writes: once
// Failures of them in a row (reads of inputs that exist, writes of
// outputs; not undecodable images or failed batches) have failed over at
// least After with no image done since, Run stops feeding images, lets
// those in flight finish, and returns ErrStoreDown. A shorter outage
// costs the images that failed in it (a rerun redoes them). The zero
// value is 5 failures over 60 s; Failures < 0 never stops.
type StoreDown struct {
	Failures int
	After    time.Duration
}

// ErrStoreDown is returned by Run when reads and writes kept failing
// (see StoreDown).
var ErrStoreDown = errors.New("engine: every read and write failed")

// Summary counts a run's outcome.
type Summary struct {
	// Done images were written, Failed ones were skipped (unreadable,
	// undecodable) or failed in their batch or write.
	Done, Failed int
	// Interrupted: ctx was cancelled before every image was fed.
	Interrupted bool
	// Abandoned images were in a graph run aborted at the stop
	// (Engine.StopGrace): neither done nor failed, redone by the next run.
	Abandoned int
	// Failures are the failed images, in the order they failed, at most
	// MaxFailedPaths of them (Failed counts them all).
	Failures []Failure
}

// Failure is one input that failed and why.
type Failure struct {
	// Path is the input's path; Reason its error (Reason: at most
	// MaxReason bytes).
	Path, Reason string
}

// NewFailure is the Failure of path with err's text as its reason.
func NewFailure(path string, err error) Failure { return Failure{Path: path, Reason: Reason(err)} }

// MaxReason bounds each Failure.Reason.
const MaxReason = 500

// MaxFailedPaths bounds Summary.Failures: a run of
// millions of broken files keeps a list of this many, not of all — at
// most MaxFailedPaths × (a path + MaxReason bytes), about 60 MB in the
// worst case, a few MB in practice.
const MaxFailedPaths = 100_000

// Reason is err's text for a list of failures: at most MaxReason bytes
// (cut at a rune boundary, marked with "…").
func Reason(err error) string {
	s := err.Error()
	if len(s) <= MaxReason {
		return s
	}
	cut := MaxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// FailureLine is the console line for an input that failed: "WHAT PATH:
// ERR" (what: "failed", "skipped", …), or "WHAT: ERR" when ERR already
// names PATH (as the image readers' errors do), so the path is not printed
// twice.
func FailureLine(what, path string, err error) string {
	if strings.Contains(err.Error(), path) {
		return what + ": " + err.Error()
	}
	return what + " " + path + ": " + err.Error()
}

// nop is the Progress of an Engine given none.
type nop struct{}

func (nop) Add(int, int)        {}
func (nop) Note(string, ...any) {}
func (nop) Finish()             {}

// Run sends todo through the engine (a sequence: a listing may still be
// arriving). ctx's cancellation (Ctrl-C) stops feeding new images:
// batches already decoded are still run and written, so that work in
// flight is not lost. Memory is bounded by Batch and Workers whatever
// the number of images: at most 2×Batch+Workers images are between the
// feeder and the batches, 2×Batch wait for a writer.
func (p *Engine) Run(ctx context.Context, todo iter.Seq[inputs.Input], st Stages) (Summary, error) {
	if p.Batch < 1 {
		return Summary{}, fmt.Errorf("engine: batch %d: want at least 1", p.Batch)
	}
	if p.Decoder == nil {
		return Summary{}, fmt.Errorf("engine: no decoder")
	}
	prog := p.Progress
	if prog == nil {
		prog = nop{}
	}
	defer p.objects.Close()
	var sum Summary
	var mu sync.Mutex
	fail := func(it *Item, what string, err error) {
		mu.Lock()
		sum.Failed++
		if len(sum.Failures) < MaxFailedPaths {
			sum.Failures = append(sum.Failures, NewFailure(it.Input.Path, err))
		}
		mu.Unlock()
		prog.Note("%s", FailureLine(what, it.Input.Path, err))
		prog.Add(0, 1)
	}
	// The breaker: reads and writes failing in a row since the last image
	// done stop the feeding (runCtx) with ErrStoreDown.
	down := p.StoreDown
	if down.Failures == 0 {
		down.Failures = 5
	}
	if down.After == 0 {
		down.After = time.Minute
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// Graph runs get StopGrace after a stop before they are aborted.
	batchCtx := context.WithoutCancel(ctx)
	if p.StopGrace > 0 {
		var abort context.CancelFunc
		batchCtx, abort = context.WithCancel(tfgraph.AbortOnCancel(batchCtx))
		defer abort()
		var grace *time.Timer
		stopGrace := context.AfterFunc(ctx, func() {
			mu.Lock()
			grace = time.AfterFunc(p.StopGrace, abort)
			mu.Unlock()
		})
		defer func() {
			stopGrace()
			mu.Lock()
			if grace != nil {
				grace.Stop()
			}
			mu.Unlock()
		}()
	}
	abandon := func(it *Item) {
		mu.Lock()
		sum.Abandoned++
		mu.Unlock()
		it.Release()
	}
	lastOK, inRow := time.Now(), 0
	var firstErr error
	ioFailed := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if inRow == 0 {
			firstErr = err
		}
		inRow++
		if down.Failures > 0 && inRow >= down.Failures && time.Since(lastOK) >= down.After {
			err := fmt.Errorf("%w: %d reads and writes in a row over %v, none done since (the first: %v); the store or disk seems gone — run again to resume once it is back",
				ErrStoreDown, inRow, time.Since(lastOK).Round(time.Second), firstErr)
			if context.Cause(runCtx) == nil && p.Halt != nil {
				p.Halt(err)
			}
			stop(err)
		}
	}
	// wrote counts an image written: the breaker starts over.
	wrote := func() {
		mu.Lock()
		sum.Done++
		lastOK, inRow = time.Now(), 0
		mu.Unlock()
		prog.Add(1, 0)
	}

	// Read and decode on worker goroutines. Batches are formed in input
	// order, so images decoded ahead of a slow one wait; the window bounds
	// how many images are between the feeder and the batches at any time
	// (a token per image, returned when the batcher takes it in order).
	jobs := make(chan *Item)
	decoded := make(chan *Item, 2*p.Batch)
	window := make(chan struct{}, 2*p.Batch+max(p.Workers, 1))
	go func() {
		defer close(jobs)
		i := 0
		for in := range todo {
			i++
			select {
			case window <- struct{}{}:
			case <-runCtx.Done():
				return
			}
			select {
			case jobs <- &Item{Seq: i - 1, Input: in}:
			case <-runCtx.Done():
				return
			}
		}
	}()
	var dwg sync.WaitGroup
	for range max(p.Workers, 1) {
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			for it := range jobs {
				p.decode(runCtx, it)
				decoded <- it
			}
		}()
	}
	go func() { dwg.Wait(); close(decoded) }()

	// Write on worker goroutines.
	written := make(chan *Item, 2*p.Batch)
	var wwg sync.WaitGroup
	writers := p.Writers
	if writers == 0 {
		writers = p.Workers
	}
	for range max(writers, 1) {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for it := range written {
				// Started batches finish even after Ctrl-C; not once the
				// store is down (they would each wait out their retries).
				if errors.Is(context.Cause(runCtx), ErrStoreDown) {
					it.Release()
					fail(it, "not written", ErrStoreDown)
					continue
				}
				err := st.Write(context.WithoutCancel(ctx), it)
				it.Release()
				if err != nil {
					ioFailed(err)
					fail(it, "failed", err)
					continue
				}
				wrote()
			}
		}()
	}

	// Batches, in input order, run here.
	var batch []*Item
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ok := p.runBatch(batchCtx, runCtx, st, batch, fail, abandon)
		for _, it := range ok {
			written <- it
		}
		batch = batch[:0]
	}
	pending := map[int]*Item{}
	next := 0
	for it := range decoded {
		if runCtx.Err() != nil {
			// Ctrl-C: a batch that has started finishes; images decoded
			// since are left for the next run.
			it.Release()
			continue
		}
		pending[it.Seq] = it
		for {
			it, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-window
			if it.Err != nil {
				if it.readFailed {
					ioFailed(it.Err)
				}
				fail(it, "failed", it.Err)
				it.Release()
				continue
			}
			batch = append(batch, it)
			if len(batch) == p.Batch {
				flush()
			}
		}
	}
	if runCtx.Err() == nil {
		flush()
	}
	for _, it := range batch {
		it.Release()
	}
	for _, it := range pending {
		it.Release()
	}
	close(written)
	wwg.Wait()
	prog.Finish()
	sum.Interrupted = ctx.Err() != nil
	if err := context.Cause(runCtx); errors.Is(err, ErrStoreDown) {
		return sum, err
	}
	return sum, nil
}

// Pixels concatenates a batch's model inputs into one [n,H,W,C] slice.
func Pixels(batch []*Item) []float32 {
	return Concat(batch, func(it *Item) []float32 { return it.Decoded.Pixels })
}

// decode reads and decodes one file.
func (p *Engine) decode(ctx context.Context, it *Item) {
	start := time.Now()
	data, err := p.read(ctx, it.Input.Path)
	it.Read = time.Since(start)
	if err != nil {
		it.Err = err
		// A file or object that is not there, or not an image file, is
		// the input's fault; anything else is the store's or the disk's.
		it.readFailed = !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) && !errors.Is(err, storage.ErrNotFound) && !imagefile.IsImageError(err)
		return
	}
	start = time.Now()
	it.Decoded, it.Err = p.Decoder.Decode(ctx, data, it.Input.Path)
	it.Decode = time.Since(start)
}

// read reads an input: a local file, or an object (storage URL).
func (p *Engine) read(ctx context.Context, path string) ([]byte, error) {
	if !storage.IsURL(path) {
		return imagefile.ReadFile(path, p.MaxBytes)
	}
	data, err := p.objects.Read(ctx, path, p.MaxBytes)
	if errors.Is(err, storage.ErrTooLarge) {
		err = fmt.Errorf("%w: %w", imagefile.ErrTooLarge, err)
	}
	return data, err
}

// runBatch runs a batch with RetryAlone and returns the items that
// succeeded, each with its share of the batch's time. bctx is the graph
// runs' context: once it is cancelled (the stop's grace is over) the
// batch's images are abandoned, not failed, and not retried.
func (p *Engine) runBatch(bctx, runCtx context.Context, st Stages, batch []*Item, fail func(*Item, string, error), abandon func(*Item)) []*Item {
	return RetryAlone(batch, func(b []*Item) error {
		if err := context.Cause(runCtx); errors.Is(err, ErrStoreDown) {
			return ErrStoreDown // no retries once the store is down
		}
		if err := bctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		if w, ok := p.Progress.(RunWatcher); ok {
			w.Running(len(b))
			defer w.Running(0)
		}
		if err := st.RunBatch(bctx, b); err != nil {
			return err
		}
		share := time.Since(start) / time.Duration(len(b))
		for _, it := range b {
			it.Run = share
		}
		return nil
	}, func(it *Item, err error) {
		if bctx.Err() != nil {
			abandon(it)
			return
		}
		fail(it, "failed", err)
		it.Release()
	})
}
