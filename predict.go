package tfcam

import (
	"context"
	"iter"
	"sort"
	"sync"
	"time"

	"github.com/tfcam/tfcam/engine"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/results"
)

// PredictOptions are the settings of Model.Predict.
type PredictOptions struct {
	// Top is the number of classes reported per image (default 5).
	Top int
	// Batch images per graph run (default 32), Workers reading and
	// decoding (default 1), MaxFileBytes skips larger files (default 256 MiB).
	Batch, Workers int
	MaxFileBytes   int64
	// Progress, when not nil, is told about every image.
	Progress engine.Progress
	// StopGrace: as ExplainOptions.StopGrace.
	StopGrace time.Duration
}

// Predict runs the model's own signature on images, batched, and calls
// emit with each image's Top classes, best first, in input order (a
// failed image is counted in the summary, not emitted). An error of emit
// stops the run.
func (m *Model) Predict(ctx context.Context, images iter.Seq[inputs.Input], o PredictOptions, emit func(in inputs.Input, top []results.Prediction) error) (engine.Summary, error) {
	dec, err := m.Decoder(0)
	if err != nil {
		return engine.Summary{}, err
	}
	defer dec.Close()
	job := &predictJob{m: m, top: max(o.Top, 1), emit: emit, scores: map[*engine.Item][]float32{}}
	if o.Top == 0 {
		job.top = 5
	}
	eng := &engine.Engine{Decoder: dec, Batch: max(o.Batch, 1), Workers: max(o.Workers, 1), Writers: 1,
		MaxBytes: o.MaxFileBytes, Progress: o.Progress, StopGrace: o.StopGrace}
	if o.Batch == 0 {
		eng.Batch = 32
	}
	if eng.MaxBytes == 0 {
		eng.MaxBytes = 256 << 20
	}
	return eng.Run(ctx, images, job)
}

// predictJob is Predict as the engine's Stages.
type predictJob struct {
	m      *Model
	top    int
	emit   func(inputs.Input, []results.Prediction) error
	mu     sync.Mutex
	scores map[*engine.Item][]float32
}

func (x *predictJob) RunBatch(ctx context.Context, batch []*engine.Item) error {
	out, classes, err := x.m.TF.Predict(ctx, engine.Pixels(batch), len(batch))
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for i, it := range batch {
		x.scores[it] = out[i*classes : (i+1)*classes]
	}
	return nil
}

func (x *predictJob) Write(_ context.Context, it *engine.Item) error {
	x.mu.Lock()
	out := x.scores[it]
	delete(x.scores, it)
	x.mu.Unlock()
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return out[idx[a]] > out[idx[b]] })
	var preds []results.Prediction
	for _, i := range idx[:min(x.top, len(idx))] {
		preds = append(preds, results.Prediction{Class: i, Label: x.m.Preset.Label(i), Score: out[i]})
	}
	return x.emit(it.Input, preds)
}
