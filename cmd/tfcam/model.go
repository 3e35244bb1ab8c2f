package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/models"
	"github.com/tfcam/tfcam/tfgraph"
	"github.com/tfcam/tfcam/tfimage"
)

// modelFlags are the flags every command that loads a model takes.
type modelFlags struct {
	model      string
	tags       string
	signature  string
	device     string
	preprocess string
	labels     string
	threads    int
	size       string
	output     string
	input      string
	inputCut   string
	maxDecode  int // MiB
}

func (f *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "SavedModel directory (required)")
	fs.StringVar(&f.tags, "tags", "", "MetaGraph tags, comma-separated (default: serve)")
	fs.StringVar(&f.signature, "signature", "", "signature key (default: serving_default)")
	fs.StringVar(&f.device, "device", "auto", "auto, cpu or gpu")
	fs.StringVar(&f.preprocess, "preprocess", "", "pixel scaling: raw, unit, tf, caffe or torch (default: the preset's, else raw for a model that scales its input itself, else unit; docs/preprocessing.md)")
	fs.StringVar(&f.labels, "labels", "", "class names, one per line (default: the preset's)")
	fs.IntVar(&f.threads, "threads", 0, "TensorFlow threads (0: all cores)")
	fs.StringVar(&f.output, "output", "", "signature output of the scores, when there are several")
	fs.StringVar(&f.input, "input", "", "signature input of the images, when there are several")
	fs.StringVar(&f.inputCut, "input-tensor", "", "for encoded-image input: the decoded batch's node")
	fs.IntVar(&f.maxDecode, "max-decode-mb", tfimage.DefaultMaxBytes>>20, "skip images needing more to decode, MiB")
	fs.StringVar(&f.size, "size", "", "run any-size models at WIDTHxHEIGHT or N")
}

// parseSize parses --size: "WIDTHxHEIGHT" or "N" (square), as tfgraph's
// {height, width}.
func parseSize(s string) ([2]int, error) {
	if s == "" {
		return [2]int{}, nil
	}
	ws, hs, found := strings.Cut(strings.ToLower(s), "x")
	if !found {
		hs = ws
	}
	w, errW := strconv.Atoi(strings.TrimSpace(ws))
	h, errH := strconv.Atoi(strings.TrimSpace(hs))
	if errW != nil || errH != nil || w <= 0 || h <= 0 {
		return [2]int{}, usageError(fmt.Sprintf("--size %q: want WIDTHxHEIGHT (e.g. 320x240) or N for NxN, positive", s))
	}
	return [2]int{h, w}, nil
}

// explainFlags are the explainer settings `tfcam explain` and `tfcam eval`
// share.
type explainFlags struct {
	layer     string
	probs     bool
	seed      int64
	maxTensor int // MiB
	tokens    string
	// target is --target (explain only); the zero value explains the
	// class scores.
	target tfcam.Target
}

func (x *explainFlags) register(fs *flag.FlagSet, probsUsage string) {
	fs.StringVar(&x.layer, "layer", "", "layer to explain, from tfcam layers (default: the preset's, else the last spatial)")
	fs.BoolVar(&x.probs, "probabilities", false, probsUsage)
	fs.Int64Var(&x.seed, "seed", 0, "seed of the randomised methods (rise, smoothgrad, ...)")
	fs.StringVar(&x.tokens, "tokens", "auto", tokensUsage)
	fs.IntVar(&x.maxTensor, "max-tensor-mb", 0, "largest tensor, MiB: runs split to fit (0: 1024)")
}

// open opens the model with the flags' settings; its errors name the
// flag to change.
func (f *modelFlags) open() (*tfcam.Model, error) {
	if f.model == "" {
		return nil, usageError("--model is required")
	}
	o := tfcam.Options{Signature: f.signature, Threads: f.threads, Output: f.output, Input: f.input, InputTensor: f.inputCut}
	if f.maxDecode < 0 || f.maxDecode > 1<<20 {
		return nil, usageError(fmt.Sprintf("--max-decode-mb %d: want 1..1048576 MiB", f.maxDecode))
	}
	o.MaxDecodeBytes = int64(f.maxDecode) << 20
	o.Device = tfgraph.Device(strings.ToLower(f.device))
	if o.Device == "auto" {
		o.Device = tfgraph.DeviceAuto
	}
	if o.Device != tfgraph.DeviceAuto && o.Device != tfgraph.DeviceCPU && o.Device != tfgraph.DeviceGPU {
		return nil, usageError(fmt.Sprintf("--device %q: want auto, cpu or gpu", f.device))
	}
	var err error
	if o.InputSize, err = parseSize(f.size); err != nil {
		return nil, err
	}
	if f.tags != "" {
		o.Tags = strings.Split(f.tags, ",")
	}
	if f.labels != "" {
		if o.Labels, err = models.ReadLabels(f.labels); err != nil {
			return nil, configError(fmt.Errorf("--labels: %w", err))
		}
	}
	if f.preprocess != "" {
		if o.Preprocess, err = imagefile.ParsePreprocess(f.preprocess); err != nil {
			return nil, usageError("--preprocess: " + err.Error())
		}
	}
	m, err := tfcam.Open(f.model, o)
	var choice *tfgraph.OutputChoiceError
	switch {
	case errors.As(err, &choice):
		return nil, configError(fmt.Errorf("%w; on the command line: --output KEY (or \"output\" in the model's %s)", err, models.PresetFile))
	case errors.Is(err, tfgraph.ErrInputChoice):
		return nil, configError(fmt.Errorf("%w; on the command line: --input KEY (or \"input\" in the model's %s)", err, models.PresetFile))
	case errors.Is(err, tfcam.ErrAnySize):
		return nil, usageError(fmt.Sprintf("%v; give one with --size WIDTHxHEIGHT (e.g. --size 224), or input_size in its %s", err, models.PresetFile))
	case errors.Is(err, imagefile.ErrPreprocess):
		return nil, configError(fmt.Errorf("%w (in the model's %s; override it with --preprocess)", err, models.PresetFile))
	}
	return m, configError(err)
}

// explainer loads the model and builds an explainer on it: the layer is the
// flag's, else the preset's; probs explains probabilities instead of logits.
// ctx bounds the target's resolution (an embedding reference runs the
// model). The caller closes the model.
func (f *modelFlags) explainer(ctx context.Context, x explainFlags, cfg explainer.Config) (*tfcam.Model, *explainer.Explainer, error) {
	m, err := f.open()
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*tfcam.Model, *explainer.Explainer, error) {
		m.Close()
		return nil, nil, configError(err)
	}
	if cfg, err = x.config(m.Preset, cfg); err != nil {
		return fail(err)
	}
	if cfg.Objective, err = x.target.Objective(ctx, m); err != nil {
		return fail(targetError(err))
	}
	e, err := m.ExplainerContext(ctx, cfg)
	if errors.Is(err, context.Canceled) {
		m.Close()
		return nil, nil, exitError{code: signalExitCode(), msg: "interrupted while building the explainer's graph; nothing was started: run the same command again to resume"}
	}
	if errors.Is(err, explainer.ErrObjective) {
		return fail(fmt.Errorf("--target: %w; choose the model output it fits with --output KEY (see `tfcam layers`)", err))
	}
	if err != nil {
		return fail(tokensHint(err))
	}
	return m, e, nil
}

// config completes cfg with the explainer flags: the layer is the flag's,
// else the preset's; probs explains probabilities instead of logits; the
// token view is --tokens'.
func (x explainFlags) config(preset models.Preset, cfg explainer.Config) (explainer.Config, error) {
	cfg.Layer = x.layer
	if cfg.Layer == "" {
		cfg.Layer = preset.Layer
	}
	if x.probs {
		cfg.Score = tfgraph.Probabilities
	}
	cfg.Seed = x.seed
	cfg.MaxTensorElements = int64(max(x.maxTensor, 0)) << 20 / 4 // MiB of float32
	var err error
	if cfg.Tokens, err = parseTokens(x.tokens); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// inputNote says how tfcam feeds a model whose input is not a float32
// image batch, and in which dtype its layers compute ("" when there is
// nothing to say).
func inputNote(m *tfgraph.Model, layer tfgraph.Layer) string {
	var notes []string
	switch m.InputKind {
	case tfgraph.InputUint8:
		notes = append(notes, fmt.Sprintf("input %q is uint8 %v: tfcam feeds float32 pixel values 0..255, rounded, in place of the model's cast to float (default --preprocess raw)",
			m.Input.Key, m.Input.Shape))
	case tfgraph.InputEncoded:
		notes = append(notes, fmt.Sprintf("input %q takes encoded images (string %v): tfcam decodes and resizes images itself and feeds them at %s %v, the model's decoded batch (choose another with --input-tensor NAME; default --preprocess raw)",
			m.Encoded.Key, m.Encoded.Shape, strings.TrimPrefix(m.Input.Output.Op.Name(), tfgraph.InlinePrefix), m.Input.Shape))
	}
	if dt := layer.Output.DataType(); layer.Output.Op != nil && dt != tf.Float {
		notes = append(notes, fmt.Sprintf("layer %q computes in %s: tfcam casts its activations and gradients to float32 and computes the maps in float32", layer.Name, tfgraph.DTypeName(dt)))
	}
	return strings.Join(notes, "\n")
}

// preprocessNote is the preprocessing m is fed and why, for the start-up
// line of every command.
func preprocessNote(m *tfcam.Model) string {
	return fmt.Sprintf("preprocess %s (%s)", m.Preprocess, m.PreprocessFrom)
}

// warnPreprocess checks, when nothing states what m expects, whether
// another preprocessing makes it clearly more confident on a few of the
// images in args, and warns naming it: a wrong preprocessing is otherwise a
// silently wrong answer.
func warnPreprocess(ctx context.Context, log io.Writer, m *tfcam.Model, args []string) {
	if !strings.HasPrefix(m.PreprocessFrom, "the default") {
		return
	}
	c, err := m.CheckPreprocess(ctx, inputs.Sample(args, 4))
	if err != nil || c.Better == "" {
		return
	}
	fmt.Fprintf(log, "warning: nothing says which preprocessing this model expects (no --preprocess, no tfcam.json), so it is fed %s; %s: if it was trained so, pass --preprocess %s or write {\"preprocess\": %q} into its tfcam.json (docs/preprocessing.md)\n",
		m.Preprocess, c, c.Better, c.Better)
}
