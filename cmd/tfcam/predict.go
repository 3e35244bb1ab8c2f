package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/tfcam/tfcam/engine"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/models"
	"github.com/tfcam/tfcam/results"
	"github.com/tfcam/tfcam/tfgraph"
)

func runPredict(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	var f modelFlags
	f.register(fs)
	top := fs.Int("top", 5, "predictions per image")
	asJSON := fs.Bool("json", false, "print JSON lines instead of text")
	batch := fs.Int("batch", 32, "images per TensorFlow run (1..4096)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines reading and decoding images (1..1024)")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() == 0 {
		return usageError("no inputs: give image files, directories, globs, @list.txt or -")
	}
	if *top < 1 {
		return usageError(fmt.Sprintf("--top %d: want at least 1", *top))
	}
	if err := checkRunFlags(*batch, *workers, f.threads, 0, 256); err != nil {
		return err
	}
	var bad badPaths
	images, err := inputs.ExpandFiles(ctx, fs.Args(), os.Stdin, bad.add)
	if err != nil {
		return interruptedError(err)
	}
	m, err := f.open()
	if err != nil {
		return err
	}
	defer m.Close()
	dec, err := m.Decoder(0)
	if err != nil {
		return err
	}
	defer dec.Close()
	st := &predictStages{m: m.TF, preset: m.Preset, top: *top, json: *asJSON, w: os.Stdout}
	p := &engine.Engine{Decoder: dec, Batch: *batch, Workers: *workers, Writers: 1, MaxBytes: 256 << 20,
		Progress: newProgress(os.Stderr, isTerminal(os.Stderr), len(images))}
	bad.report(os.Stderr)
	sum, err := p.Run(ctx, slices.Values(images), st)
	if err != nil {
		return err
	}
	sum.Failed += len(bad)
	if sum.Interrupted {
		return exitError{code: signalExitCode(), msg: fmt.Sprintf("interrupted after %d images", sum.Done)}
	}
	if sum.Failed > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%d of %d images failed", sum.Failed, len(images)+len(bad))}
	}
	return nil
}

// predictStages run the model's own signature on each batch and print the
// top classes, in input order (one writer).
type predictStages struct {
	m      *tfgraph.Model
	preset models.Preset
	top    int
	json   bool
	mu     sync.Mutex
	w      io.Writer
	scores map[*engine.Item][]float32
}

func (x *predictStages) RunBatch(ctx context.Context, batch []*engine.Item) error {
	out, classes, err := x.m.Predict(ctx, engine.Pixels(batch), len(batch))
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.scores == nil {
		x.scores = map[*engine.Item][]float32{}
	}
	for i, it := range batch {
		x.scores[it] = out[i*classes : (i+1)*classes]
	}
	return nil
}

func (x *predictStages) Write(_ context.Context, it *engine.Item) error {
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
		preds = append(preds, results.Prediction{Class: i, Label: x.preset.Label(i), Score: out[i]})
	}
	if x.json {
		line, err := json.Marshal(map[string]any{"input": it.Input.Path, "predictions": preds})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(x.w, string(line))
		return err
	}
	fmt.Fprintln(x.w, it.Input.Path)
	for _, p := range preds {
		fmt.Fprintf(x.w, "  %8.4f  %4d  %s\n", p.Score, p.Class, p.Label)
	}
	return nil
}
