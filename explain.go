package tfcam

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tfcam/tfcam/engine"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/render"
	"github.com/tfcam/tfcam/results"
	"github.com/tfcam/tfcam/storage"
	"github.com/tfcam/tfcam/tfgraph"
	"github.com/tfcam/tfcam/tfimage"
)

// ExplainOptions are the settings of Model.ExplainInto, the fields of
// `tfcam explain`'s flags; DefaultExplainOptions has that command's
// defaults.
type ExplainOptions struct {
	// Class is the class explained in each image: Class{TopK: 1} is the
	// top-1 (the default), Class{} class 0.
	Class explainer.Class
	// Outputs are the files written per map (the results line always is).
	Outputs Outputs
	// Colormap, Alpha (0..1) and Quality (JPEG, 1..100) make the overlays.
	Colormap render.Colormap
	Alpha    float64
	Quality  int
	// OverlaySize is the longest side of overlays in pixels (0: the
	// original's size; images are never enlarged).
	OverlaySize int
	// Batch is the most images per graph run, Workers the goroutines that
	// read, decode and encode; MaxFileBytes skips larger files.
	Batch, Workers int
	MaxFileBytes   int64
	// Shard is the part of the inputs this run explains (Count 0 or 1:
	// all of them).
	Shard inputs.Shard
	// Force redoes images whose outputs already exist; without it they
	// are skipped (a rerun resumes).
	Force bool
	// Durable syncs a folder's files to disk before their images are
	// marked done (power-loss safe, not only crash safe).
	Durable bool
	// FlushEvery is how often a bucket's results are stored as a part (0:
	// a part per batch).
	FlushEvery time.Duration
	// Gallery writes index.html into a results folder (not a bucket).
	Gallery bool
	// Seed is the explainer's Config.Seed, recorded in every line.
	Seed int64
	// Target is the target e explains, recorded in every line when it
	// is not the class scores (zero: the objective's own name).
	Target Target
	// Stdin is read for the input "-" (a list of paths).
	Stdin io.Reader
	// Progress, when not nil, is told about every image finished or
	// skipped; if it also implements Lister, about the images a bucket
	// listing adds as the run goes.
	Progress engine.Progress
	// StopGrace is how long a graph run in flight may go on once ctx is
	// cancelled before it is aborted and its images left for the next run
	// (engine.Engine.StopGrace); 0 waits for it.
	StopGrace time.Duration
	// Planned, when not nil, is called once the inputs are expanded and
	// the results opened, before the first image is read.
	Planned func(ExplainPlan)
}

// DefaultExplainOptions are `tfcam explain`'s defaults: overlays (JPEG,
// jet, α 0.5, quality 90, at most 512 px) and 16-bit maps, top-1, batches
// of 32 on workers goroutines, files up to 256 MiB, a gallery.
func DefaultExplainOptions(workers int) ExplainOptions {
	return ExplainOptions{Outputs: Outputs{Overlay: true, Map16: true, ConceptAlpha: 0.5},
		Colormap: render.Jet, Alpha: 0.5, Quality: 90, OverlaySize: 512,
		Class: explainer.Class{TopK: 1}, Batch: 32, Workers: max(workers, 1), MaxFileBytes: 256 << 20, Shard: inputs.Shard{Count: 1},
		FlushEvery: 15 * time.Second, Gallery: true}
}

// Lister is implemented by a Progress that shows images found by a
// listing during the run.
type Lister interface {
	// Listing says whether a listing is still adding images.
	Listing(on bool)
	// Grow adds n images to the total.
	Grow(n int)
}

// ExplainPlan is what a run is about to do.
type ExplainPlan struct {
	// Images is the number of inputs expanded before the run (besides
	// bucket prefixes, listed as it goes: Streams).
	Images  int
	Streams []string
	// Shard is this run's shard, Total its images (with the bad ones),
	// Skipped those already done.
	Shard          inputs.Shard
	Total, Skipped int
	// Bad are the inputs skipped by expansion (missing, unreadable,
	// duplicate keys), reported by shard 0 only.
	Bad []BadInput
	// OwnOutputs are the files left out because they lie under the
	// results (ExplainSummary.OwnOutputs).
	OwnOutputs int
	// Batch is the images per graph run: ExplainOptions.Batch, fewer for
	// methods that run many copies of each image (RunBatch).
	Batch int
	// PassesPerImage is the forward passes each image costs
	// (PassesPerImage).
	PassesPerImage int64
}

// PassesPerImage is what explaining one image costs with e's methods, in
// forward passes through the model (or through the layers after the
// target layer, for methods that run only those): the shared forward and
// backward pass, plus every method's declared copies, for each explained
// class.
func PassesPerImage(e *explainer.Explainer, class explainer.Class) int64 {
	per := int64(1)
	for _, m := range e.Methods() {
		c := e.Cost(m)
		per += int64(c.Copies) + int64(c.TailCopies)
	}
	return per * int64(max(class.TopK, 1))
}

// RunBatchPasses is the forward passes one graph run aims at when methods
// run copies of each image: batches are cut so that a run ends, and
// progress moves, after about that many (Lite0's Score-CAM: one image of
// 1,281 passes per run, ~50 s on 2 cores, instead of 32 images in 27
// minutes). A batch does not get faster per image with more images once
// each image already fills it with copies.
const RunBatchPasses = 2048

// RunBatch is the images per graph run for a requested batch when each
// image costs passes forward passes: batch, or fewer (at least 1) so that
// a run stays near RunBatchPasses.
func RunBatch(batch int, passes int64) int {
	if passes <= 1 {
		return batch
	}
	return int(max(1, min(int64(batch), RunBatchPasses/passes)))
}

// BadInput is an input that expansion or a listing skipped, and why.
type BadInput struct {
	Path string
	Err  error
}

// ExplainSummary is what a run did.
type ExplainSummary struct {
	engine.Summary
	// Total are the shard's images, Skipped those already done.
	Total, Skipped int
	// OwnOutputs counts the inputs left out because they lie under out:
	// tfcam's own outputs of an earlier run (--out inside an input folder).
	OwnOutputs int
	// Flat counts maps without signal ("flat": true in their lines).
	Flat int64
}

// ExplainInto explains the images named by args — files, folders, globs,
// @lists, "-" (a list on o.Stdin), object-store objects and prefixes — with
// e, an explainer of m, into the results folder or bucket URL out, as
// `tfcam explain` does: per image and map the files of o.Outputs, then its
// results line; images already done are skipped (a rerun resumes); a bad
// image is counted in Summary.Failed and the run goes on. The error is for
// what stops the whole run: the results cannot be opened or written, ctx
// was cancelled while the inputs were expanded. A run interrupted by ctx
// returns with Summary.Interrupted set and what was done kept.
func (m *Model) ExplainInto(ctx context.Context, e *explainer.Explainer, out string, args []string, o ExplainOptions) (ExplainSummary, error) {
	var sum ExplainSummary
	if o.Shard.Count == 0 {
		o.Shard.Count = 1
	}
	if err := o.Class.Check(e.Classes()); err != nil {
		return sum, err
	}
	// Object-store prefixes are listed as the run goes (a bucket of
	// millions of keys starts at once); everything else is expanded now.
	var streams, rest []string
	for _, a := range args {
		if inputs.IsPrefixURL(a) {
			streams = append(streams, a)
		} else {
			rest = append(rest, a)
		}
	}
	var bad []BadInput
	images, err := inputs.Expand(ctx, rest, o.Stdin, func(path string, err error) { bad = append(bad, BadInput{path, err}) })
	if err != nil {
		return sum, err
	}
	if o.Shard.Index != 0 {
		bad = nil // reported by shard 0
	}
	// tfcam's own outputs are never inputs: with --out inside an input
	// folder, a rerun would explain the maps of the last one.
	own := underOut(out)
	var mine []inputs.Input
	for _, in := range images {
		if own(in.Path) {
			sum.OwnOutputs++
			continue
		}
		if o.Shard.Owns(in.Key) {
			mine = append(mine, in)
		}
	}
	var redo func(string) bool
	if o.Force {
		keys := map[string]bool{}
		for _, in := range mine {
			keys[in.Key] = true
		}
		// A listed prefix's keys are not known in advance: with one,
		// every image of the shard's results is redone.
		redo = func(k string) bool { return keys[k] || len(streams) > 0 }
	}
	var sink results.Sink
	bucket := storage.IsURL(out) && !strings.HasPrefix(out, "file://")
	if bucket {
		sink, err = results.OpenBucket(ctx, out, o.Shard, o.Outputs.TFRecord, o.FlushEvery, redo)
	} else {
		out = strings.TrimPrefix(out, "file://")
		sink, err = results.OpenDir(out, o.Shard, o.Durable, o.Outputs.TFRecord, redo)
	}
	if err != nil {
		return sum, err
	}
	closeSink := sync.OnceValue(sink.Close) // early returns close it too
	defer closeSink()
	// A rerun resumes only with the settings the results were made with.
	if err := results.CheckSettings(ctx, out, m.settings(e, o), o.Force); err != nil {
		return sum, err
	}
	sum.Total = len(mine) + len(bad)
	var todo []inputs.Input
	for _, in := range mine {
		if sink.IsDone(in.Key) {
			sum.Skipped++
			continue
		}
		todo = append(todo, in)
	}
	passes := PassesPerImage(e, o.Class)
	batch := RunBatch(o.Batch, passes)
	if o.Planned != nil {
		o.Planned(ExplainPlan{Images: len(images) - sum.OwnOutputs + len(bad), Streams: streams, Shard: o.Shard, Total: sum.Total, Skipped: sum.Skipped, Bad: bad, OwnOutputs: sum.OwnOutputs,
			Batch: batch, PassesPerImage: passes})
	}

	h, w := e.InputSize()
	viewSize := o.OverlaySize
	if viewSize == 0 {
		viewSize = 1 << 15 // the original's size (within TensorFlow's limits)
	}
	dec, err := m.Decoder(viewSize)
	if err != nil {
		return sum, err
	}
	defer dec.Close()
	rend, err := tfimage.NewRenderer(tfimage.RenderOptions{Maps: len(e.Methods()) * max(o.Class.TopK, 1), MapWidth: w, MapHeight: h,
		Overlay: o.Outputs.Overlay, Colormap: o.Colormap, Alpha: o.Alpha, Quality: o.Quality, PNG: o.Outputs.OverlayPNG,
		Map16: o.Outputs.Map16 || o.Outputs.TFRecord, Thumbnail: 512})
	if err != nil {
		return sum, err
	}
	defer rend.Close()
	job := &Job{Explainer: e, Class: o.Class, Renderer: rend, Sink: sink, Preset: m.Preset, Model: m.TF.Dir, Seed: o.Seed, Outputs: o.Outputs}
	if !o.Target.IsClass() {
		job.Target = o.Target.String()
	}
	prog := o.Progress
	if prog != nil {
		job.Warn = func(path, w string) { prog.Note("warning: %s: %s", storage.WithoutQuery(path), w) }
	}
	lister, _ := prog.(Lister)
	eng := &engine.Engine{Decoder: dec, Batch: batch, Workers: o.Workers, MaxBytes: o.MaxFileBytes, Progress: prog, StopGrace: o.StopGrace}
	// The listing stops with the run when the store is gone (Halt).
	listCtx, halt := context.WithCancelCause(ctx)
	defer halt(nil)
	eng.Halt = halt
	var listed, listedDone, listedBad atomic.Int64
	var badMu sync.Mutex
	var listedBadList []engine.Failure
	all := func(yield func(inputs.Input) bool) {
		for _, in := range todo {
			if !yield(in) {
				return
			}
		}
		if lister != nil {
			defer lister.Listing(false)
		}
		report := func(path string, err error) {
			listedBad.Add(1)
			badMu.Lock()
			listedBadList = append(listedBadList, engine.NewFailure(path, err))
			badMu.Unlock()
			if prog != nil {
				prog.Note("%s", engine.FailureLine("failed", storage.WithoutQuery(path), err))
			}
			if lister != nil { // one of the run's images, failed
				lister.Grow(1)
				prog.Add(0, 1)
			}
		}
		for _, raw := range streams {
			for in := range inputs.StreamPrefix(listCtx, raw, report) {
				if !o.Shard.Owns(in.Key) || own(in.Path) {
					continue
				}
				if err := inputs.CheckKey(in.Key); err != nil {
					report(in.Path, err)
					continue
				}
				listed.Add(1)
				if sink.IsDone(in.Key) {
					listedDone.Add(1)
					continue
				}
				if lister != nil {
					lister.Grow(1)
				}
				if !yield(in) {
					return
				}
			}
		}
	}
	if lister != nil {
		lister.Listing(len(streams) > 0)
	}
	run, err := eng.Run(ctx, all, job)
	if err != nil {
		return sum, err
	}
	sum.Summary = run
	sum.Total += int(listed.Load() + listedBad.Load())
	sum.Skipped += int(listedDone.Load())
	sum.Failed += len(bad) + int(listedBad.Load())
	sum.Flat = job.Flat()
	var failed []engine.Failure
	for _, b := range bad {
		failed = append(failed, engine.NewFailure(b.Path, b.Err))
	}
	badMu.Lock()
	failed = append(append(failed, listedBadList...), run.Failures...)
	badMu.Unlock()
	sum.Failures = failed
	// failed.txt lists this run's failed inputs, one per line (empty when
	// none): fixed, they are redone with @OUT/failed.txt.
	var list strings.Builder
	for _, f := range failed {
		list.WriteString(f.Path + "\n")
	}
	if err := sink.WriteFile(ctx, FailedList, []byte(list.String())); err != nil {
		return sum, err
	}
	if err := closeSink(); err != nil {
		return sum, err
	}
	if o.Gallery && !bucket {
		title := "tfcam: " + filepath.Base(filepath.Dir(filepath.Clean(m.TF.Dir))) + "/" + filepath.Base(m.TF.Dir)
		var fails []results.Failure
		for _, f := range failed {
			fails = append(fails, results.Failure{Input: storage.WithoutQuery(f.Path), Reason: f.Reason})
		}
		if err := results.WriteGallery(out, title, o.Colormap, fails); err != nil && prog != nil {
			prog.Note("warning: gallery: %v", err)
		}
	}
	return sum, nil
}

// FailedList is the file under the results that lists a run's failed
// inputs, one path per line, usable as an @list.
const FailedList = "failed.txt"

// String is the plan as the line `tfcam explain` starts with.
func (p ExplainPlan) String() string {
	listing := ""
	if len(p.Streams) > 0 {
		var s []string
		for _, raw := range p.Streams {
			s = append(s, storage.WithoutQuery(raw))
		}
		listing = fmt.Sprintf(" + the images under %s, listed as the run goes", strings.Join(s, ", "))
	}
	own := ""
	if p.OwnOutputs > 0 {
		own = fmt.Sprintf("; %d files under the results, tfcam's own outputs, left out", p.OwnOutputs)
	}
	unreadable := ""
	if len(p.Bad) > 0 {
		unreadable = fmt.Sprintf(", %d failed before reading (below)", len(p.Bad))
	}
	return fmt.Sprintf("%d images%s (shard %s: %d, %d already done%s%s)", p.Images, listing, p.Shard, p.Total, p.Skipped, unreadable, own)
}

// settings are what the outputs of explaining with e and o depend on
// (results.Settings).
func (m *Model) settings(e *explainer.Explainer, o ExplainOptions) results.Settings {
	dir := m.TF.Dir
	if abs, err := filepath.Abs(dir); err == nil && !storage.IsURL(dir) {
		dir = abs
	}
	cfg := e.Config()
	s := results.Settings{Model: dir, Layer: e.Layer().Name, Class: o.Class.String(), Target: cmp.Or(o.Target.String(), e.Objective().String()),
		Score: "logits", Preprocess: string(m.Preprocess), Seed: cfg.Seed}
	if cfg.Score == tfgraph.Probabilities {
		s.Score = "probabilities"
	}
	h, w := e.InputSize()
	s.InputSize = fmt.Sprintf("%dx%d", w, h)
	for _, mt := range e.Methods() {
		s.Methods = append(s.Methods, strings.Join(append([]string{mt.Name()}, methodOptions(e, mt.Name())...), ":"))
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{o.Outputs.Overlay, "overlay"}, {o.Outputs.Map16, "map16"}, {o.Outputs.NPY, "npy"}, {o.Outputs.TFRecord, "tfrecord"}} {
		if f.on {
			s.Outputs = append(s.Outputs, f.name)
		}
	}
	if o.Outputs.Overlay {
		format := "jpeg"
		if o.Outputs.OverlayPNG {
			format = "png"
		}
		s.Overlay = fmt.Sprintf("%s %s alpha %g quality %d size %d", format, o.Colormap, o.Alpha, o.Quality, o.OverlaySize)
	}
	return s
}

// underOut returns a test of whether an input path lies under the results
// out: a folder (compared as absolute paths) or a bucket URL (compared
// without their queries).
func underOut(out string) func(path string) bool {
	if storage.IsURL(out) && !strings.HasPrefix(out, "file://") {
		prefix := strings.TrimSuffix(storage.WithoutQuery(out), "/") + "/"
		return func(p string) bool { return strings.HasPrefix(storage.WithoutQuery(p), prefix) }
	}
	root, err := filepath.Abs(strings.TrimPrefix(out, "file://"))
	if err != nil {
		return func(string) bool { return false }
	}
	root += string(filepath.Separator)
	return func(p string) bool {
		if storage.IsURL(p) {
			return false
		}
		abs, err := filepath.Abs(p)
		return err == nil && strings.HasPrefix(abs, root)
	}
}
