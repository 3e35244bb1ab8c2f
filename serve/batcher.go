package serve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tfcam/tfcam/engine"
	"github.com/tfcam/tfcam/explainer"
)

// The batcher merges the images of concurrent requests into one graph run,
// like TF Serving's batcher: a batch leaves the queue when it holds
// MaxBatch images or when its oldest image has waited BatchTimeout. One
// goroutine per lane runs its batches. The two lanes may extend the
// model's graph at once (new method sets, new top-k counts): each
// explainer appends under its own root scope (numbered atomically) and
// its own lock, TensorFlow's graph takes its own lock per op, and the
// model's inlined forward pass they share is built when the model opens.
//
// Each model has two lanes, two batchers: requests whose methods cost
// more than Options.CheapPasses per image (Score-CAM, RISE, Integrated
// Gradients… — minutes per batch on a large layer) queue and run in the
// dear lane, so that the cheap ones (the gradient family) keep flowing
// while a dear batch runs; each lane runs one batch at a time.
//
// Images that ask for different things (methods, top-k) are split into
// groups inside a batch, each group one Explain call; explicit classes
// ride together as one class per image. A group that fails as a whole is
// retried image by image, as the file pipeline does, so a failure stays
// with the image that causes it.

// ErrQueueFull is returned when a model's queue has no room for a
// request's images; the HTTP layer answers 429 with Retry-After.
var ErrQueueFull = errors.New("serve: queue full")

// ErrClosed is returned for requests that arrive after Close.
var ErrClosed = errors.New("serve: server closed")

// job is one image waiting for, or in, a batch.
type job struct {
	key    string // what it asks for: the group it runs in
	spec   *methodSet
	class  explainer.Class
	pixels []float32
	enq    time.Time
	// Filled by the batcher before done is closed.
	res    explainer.Result
	scores []float32
	err    error
	done   chan struct{}
}

// methodSet is one parsed --method list and, once built, its explainer.
type methodSet struct {
	spec    string
	methods []explainer.Method
}

// batcher is one model's queue and runner.
type batcher struct {
	m        *model
	maxBatch int
	timeout  time.Duration
	maxQueue int

	mu      sync.Mutex
	queue   []*job
	closed  bool
	running bool // a batch is running (tests)
	wake    chan struct{}
	done    chan struct{}

	runs atomic.Int64 // graph runs (Explain or Predict calls)
	size atomic.Int64 // len(queue), read without the lock (metrics)
}

func newBatcher(m *model, maxBatch, maxQueue int, timeout time.Duration) *batcher {
	b := &batcher{m: m, maxBatch: maxBatch, maxQueue: maxQueue, timeout: timeout,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go b.loop()
	return b
}

func (b *batcher) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// enqueue adds all of a request's images, or none when they do not fit.
func (b *batcher) enqueue(jobs []*job) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if len(b.queue)+len(jobs) > b.maxQueue {
		return fmt.Errorf("%w: %d images waiting for model %q, at most %d", ErrQueueFull, len(b.queue), b.m.name, b.maxQueue)
	}
	now := time.Now()
	for _, j := range jobs {
		j.enq = now
		j.done = make(chan struct{})
	}
	b.queue = append(b.queue, jobs...)
	b.size.Store(int64(len(b.queue)))
	b.m.setQueueGauge()
	b.poke()
	return nil
}

// withdraw takes a request's images that have not started out of the
// queue (the client went away or timed out), freeing their slots.
func (b *batcher) withdraw(jobs []*job) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue = slices.DeleteFunc(b.queue, func(q *job) bool { return slices.Contains(jobs, q) })
	b.size.Store(int64(len(b.queue)))
	b.m.setQueueGauge()
}

// depth is the number of images waiting.
func (b *batcher) depth() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// close stops taking requests; images already queued still run. It
// returns when the runner has finished them.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.poke()
	<-b.done
}

func (b *batcher) loop() {
	defer close(b.done)
	for {
		batch, ok := b.next()
		if !ok {
			return
		}
		b.mu.Lock()
		b.running = true
		b.mu.Unlock()
		b.run(batch)
		b.mu.Lock()
		b.running = false
		b.mu.Unlock()
	}
}

// next waits for a batch: MaxBatch images, or the oldest image's timeout.
func (b *batcher) next() ([]*job, bool) {
	for {
		b.mu.Lock()
		n := len(b.queue)
		var wait time.Duration
		if n > 0 {
			wait = b.timeout - time.Since(b.queue[0].enq)
		}
		if n >= b.maxBatch || (n > 0 && (wait <= 0 || b.closed)) {
			take := min(n, b.maxBatch)
			batch := slices.Clone(b.queue[:take])
			b.queue = slices.Delete(b.queue, 0, take)
			b.size.Store(int64(len(b.queue)))
			b.mu.Unlock()
			b.m.setQueueGauge()
			return batch, true
		}
		closed := b.closed
		b.mu.Unlock()
		if n == 0 {
			if closed {
				return nil, false
			}
			<-b.wake
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-b.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// run runs one batch, group by group, and hands every job its outcome.
func (b *batcher) run(batch []*job) {
	var keys []string
	groups := map[string][]*job{}
	for _, j := range batch {
		if _, ok := groups[j.key]; !ok {
			keys = append(keys, j.key)
		}
		groups[j.key] = append(groups[j.key], j)
	}
	for _, k := range keys {
		b.runGroup(groups[k])
	}
	for _, j := range batch {
		close(j.done)
	}
}

// runGroup runs jobs that ask for the same thing; when the run fails, each
// image is retried alone (engine.RetryAlone, as the file engine does).
func (b *batcher) runGroup(jobs []*job) {
	engine.RetryAlone(jobs, b.runOnce, func(j *job, err error) { j.err = err })
}

// runOnce is one graph run over jobs: the model's signature for predict,
// else the explainer of their method set.
func (b *batcher) runOnce(jobs []*job) (err error) {
	// A panic in TensorFlow's Go bindings must not stop the runner: it
	// fails this run only.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("serve: model %q: run failed: %v", b.m.name, r)
		}
	}()
	if h := b.m.testRun; h != nil {
		if err := h(jobs); err != nil {
			return err
		}
	}
	n := len(jobs)
	pixels := engine.Concat(jobs, func(j *job) []float32 { return j.pixels })
	start := time.Now()
	defer func() {
		b.runs.Add(1)
		b.m.metrics.runs.Inc()
		b.m.metrics.batch.Observe(float64(n))
		b.m.metrics.runTime.Observe(time.Since(start).Seconds())
	}()
	// The run finishes even if every client left: TensorFlow cannot be
	// stopped mid-run, and the next batch waits for it anyway.
	ctx := context.Background()
	g, e, err := b.m.use(jobs[0].spec)
	if err != nil {
		return err
	}
	defer b.m.release(g)
	if jobs[0].spec == nil {
		out, classes, err := g.tm.TF.Predict(ctx, pixels, n)
		if err != nil {
			return err
		}
		for i, j := range jobs {
			j.scores = slices.Clone(out[i*classes : (i+1)*classes])
		}
		return nil
	}
	// A group asks for one top-k, or for one class per image (each
	// image's own).
	targets := explainer.TopK(jobs[0].class.TopK)
	if jobs[0].class.TopK == 0 {
		cls := make([]int, n)
		for i, j := range jobs {
			cls[i] = j.class.Index
		}
		targets = explainer.Classes(cls...)
	}
	res, err := e.Explain(ctx, explainer.Batch{Pixels: pixels, N: n}, targets)
	if err != nil {
		return err
	}
	for i, j := range jobs {
		j.res = res[i]
	}
	return nil
}
