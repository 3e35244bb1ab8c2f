package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"

	"github.com/tfcam/tfcam/inputs"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/storage"
	"github.com/tfcam/tfcam/tfimage"
)

// The data path every command shares, top to bottom:
//
//	inputs → read + decode (workers, TensorFlow's kernels) → batch (in input
//	order) → one graph run per batch (stages.runBatch) → outputs (workers,
//	stages.write)
//
// Channels between the steps are bounded, so memory is bounded by
// --batch and --workers whatever the number of images, and every step runs
// while the others do: the next batch is decoded while one runs, and the
// previous one is written.

// item is one image on its way through the pipeline.
type item struct {
	seq int
	in  inputs.Input
	dec *tfimage.Decoded
	err error
	// timings of its steps; run is its share of the batch's run.
	read, decode, run time.Duration
	res               explainer.Result
}

// release frees the item's C memory.
func (it *item) release() {
	it.dec.Release()
}

// stages are what a command does with the pipeline's batches and images.
type stages interface {
	// runBatch runs one batch through the graph and fills each item's
	// result. An error fails the batch; the pipeline then retries its
	// images one by one, so that one bad image fails alone.
	runBatch(ctx context.Context, batch []*item) error
	// write stores or prints one image's outcome; it runs on several
	// goroutines at once.
	write(ctx context.Context, it *item) error
}

// pipeline holds the settings of a run.
type pipeline struct {
	decoder  *tfimage.Decoder
	batch    int
	workers  int
	writers  int   // write goroutines (default workers; 1 keeps output in input order)
	maxBytes int64 // largest file read
	objects  storage.Pool
	prog     *progress
}

// summary counts a run's outcome.
type summary struct {
	total, skipped, done, failed int
	interrupted                  bool
}

// run sends todo through the pipeline (a sequence: a listing may still
// be arriving). ctx's cancellation (Ctrl-C) stops
// feeding new images: batches already decoded are still run and written,
// so that work in flight is not lost.
func (p *pipeline) run(ctx context.Context, todo iter.Seq[inputs.Input], st stages) (summary, error) {
	defer p.objects.Close()
	var sum summary
	var mu sync.Mutex
	fail := func(it *item, what string, err error) {
		mu.Lock()
		sum.failed++
		mu.Unlock()
		p.prog.note("%s %s: %v", what, it.in.Path, err)
		p.prog.add(0, 1)
	}

	// Read and decode on worker goroutines. Batches are formed in input
	// order, so images decoded ahead of a slow one wait; the window bounds
	// how many images are between the feeder and the batches at any time
	// (a token per image, returned when the batcher takes it in order).
	jobs := make(chan *item)
	decoded := make(chan *item, 2*p.batch)
	window := make(chan struct{}, 2*p.batch+max(p.workers, 1))
	go func() {
		defer close(jobs)
		i := 0
		for in := range todo {
			i++
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- &item{seq: i - 1, in: in}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var dwg sync.WaitGroup
	for range max(p.workers, 1) {
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			for it := range jobs {
				p.decode(ctx, it)
				decoded <- it
			}
		}()
	}
	go func() { dwg.Wait(); close(decoded) }()

	// Write on worker goroutines.
	written := make(chan *item, 2*p.batch)
	var wwg sync.WaitGroup
	writers := p.writers
	if writers == 0 {
		writers = p.workers
	}
	for range max(writers, 1) {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for it := range written {
				// Started batches finish even after Ctrl-C.
				err := st.write(context.WithoutCancel(ctx), it)
				it.release()
				if err != nil {
					fail(it, "failed", err)
					continue
				}
				mu.Lock()
				sum.done++
				mu.Unlock()
				p.prog.add(1, 0)
			}
		}()
	}

	// Batches, in input order, run here.
	var batch []*item
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ok := p.runBatch(ctx, st, batch, fail)
		for _, it := range ok {
			written <- it
		}
		batch = batch[:0]
	}
	pending := map[int]*item{}
	next := 0
	for it := range decoded {
		if ctx.Err() != nil {
			// Ctrl-C: a batch that has started finishes; images decoded
			// since are left for the next run.
			it.release()
			continue
		}
		pending[it.seq] = it
		for {
			it, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-window
			if it.err != nil {
				fail(it, "skipped", it.err)
				it.release()
				continue
			}
			batch = append(batch, it)
			if len(batch) == p.batch {
				flush()
			}
		}
	}
	if ctx.Err() == nil {
		flush()
	}
	for _, it := range batch {
		it.release()
	}
	for _, it := range pending {
		it.release()
	}
	close(written)
	wwg.Wait()
	p.prog.finish()
	sum.interrupted = ctx.Err() != nil
	return sum, nil
}

// batchPixels concatenates a batch's model inputs into one [n,H,W,C] slice.
func batchPixels(batch []*item) []float32 {
	pixels := make([]float32, 0, len(batch)*len(batch[0].dec.Pixels))
	for _, it := range batch {
		pixels = append(pixels, it.dec.Pixels...)
	}
	return pixels
}

// decode reads and decodes one file.
func (p *pipeline) decode(ctx context.Context, it *item) {
	start := time.Now()
	data, err := p.read(ctx, it.in.Path)
	it.read = time.Since(start)
	if err != nil {
		it.err = err
		return
	}
	start = time.Now()
	it.dec, it.err = p.decoder.Decode(ctx, data, it.in.Path)
	it.decode = time.Since(start)
}

// read reads an input: a local file, or an object (storage URL).
func (p *pipeline) read(ctx context.Context, path string) ([]byte, error) {
	if !storage.IsURL(path) {
		return imagefile.ReadFile(path, p.maxBytes)
	}
	data, err := p.objects.Read(ctx, path, p.maxBytes)
	if errors.Is(err, storage.ErrTooLarge) {
		err = fmt.Errorf("%w: %w", imagefile.ErrTooLarge, err)
	}
	return data, err
}

// runBatch runs a batch; when the batch fails as a whole, each image is
// retried alone, so a failure is reported for the images that cause it.
// It returns the items that succeeded.
func (p *pipeline) runBatch(ctx context.Context, st stages, batch []*item, fail func(*item, string, error)) []*item {
	start := time.Now()
	err := st.runBatch(context.WithoutCancel(ctx), batch)
	if err == nil {
		share := time.Since(start) / time.Duration(len(batch))
		for _, it := range batch {
			it.run = share
		}
		return append([]*item(nil), batch...)
	}
	if len(batch) == 1 {
		fail(batch[0], "failed", err)
		batch[0].release()
		return nil
	}
	var ok []*item
	for _, it := range batch {
		ok = append(ok, p.runBatch(ctx, st, []*item{it}, fail)...)
	}
	return ok
}

// badPaths are the inputs that expansion reported and skipped (missing,
// unreadable, not regular files, duplicate keys): they count as failed.
type badPaths []badPath

type badPath struct {
	path string
	err  error
}

func (b *badPaths) add(path string, err error) { *b = append(*b, badPath{path, err}) }

// report prints each one; a sharded job reports them in shard 0 only.
func (b badPaths) report(log io.Writer) {
	for _, x := range b {
		fmt.Fprintf(log, "skipped %s: %v\n", x.path, x.err)
	}
}
