package tfcam

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/models"
	"github.com/tfcam/tfcam/tfgraph"
	"github.com/tfcam/tfcam/tfimage"
)

// Options say how to open a model. The zero value opens the SavedModel's
// serving_default signature with the settings of its preset (tfcam.json in
// the model folder, see models.Find).
type Options struct {
	// Tags and Signature pick the MetaGraph and signature (default
	// "serve", "serving_default").
	Tags      []string
	Signature string
	// Device is where TensorFlow runs (default tfgraph.DeviceAuto).
	Device tfgraph.Device
	// Threads bounds TensorFlow's threads (0: all cores).
	Threads int
	// InputSize is {height, width} for a model that takes images of any
	// size (default: the preset's input_size; without one Open fails with
	// ErrAnySize).
	InputSize [2]int
	// Output and Input are the signature keys of the scores to explain and
	// of the image batch, for signatures with several (default: the
	// preset's, else the only candidate). InputTensor is, for a model
	// taking encoded images, the node tfcam feeds decoded images to.
	Output, Input, InputTensor string
	// Preprocess maps 0..255 pixels to the model's values (default: the
	// preset's; for a uint8 or encoded-image input, raw; else unit).
	Preprocess imagefile.Preprocess
	// Labels are the class names (default: the preset's).
	Labels []string
	// MaxDecodeBytes is the decoders' memory budget per image (0:
	// tfimage.DefaultMaxBytes; see tfimage.DecodeOptions.MaxBytes).
	MaxDecodeBytes int64
}

// ErrLabels is returned by Open when the labels (Options.Labels or the
// preset's labels.txt) do not name exactly the model's classes.
var ErrLabels = errors.New("the labels do not match the model's classes")

// ErrAnySize is returned by Open for a model that takes images of any
// size when neither Options.InputSize nor its preset gives one.
var ErrAnySize = errors.New("takes images of any size")

// ErrInputShape is returned by Open for a model whose input is not an
// image batch tfcam can feed ([N,H,W,3] or [N,H,W,1]).
var ErrInputShape = errors.New("takes no image batch tfcam can feed: it needs a fixed [N,H,W,3] (or 1-channel) image input")

// Model is an opened model with what tfcam needs to explain it: the
// TensorFlow model, its preset (labels, default layer) and the pixel
// preprocessing it expects. Close releases it.
type Model struct {
	// TF is the loaded SavedModel.
	TF *tfgraph.Model
	// Preset is its preset, with Options.Labels and the preprocessing
	// applied.
	Preset models.Preset
	// Preprocess is the pixel preprocessing its inputs get.
	Preprocess imagefile.Preprocess
	// PreprocessFrom says where Preprocess comes from: Options, the
	// preset, the input's dtype, a scaling the graph does itself, or the
	// default (unit) when nothing says — then CheckPreprocess can tell
	// whether another preset suits the model better.
	PreprocessFrom string
	// MaxDecodeBytes is Options.MaxDecodeBytes, the decoders' budget.
	MaxDecodeBytes int64

	// dir and opts are what Open was given (Reopen).
	dir  string
	opts Options
}

// Open loads the SavedModel in dir. Errors say what to set: a
// *tfgraph.OutputChoiceError or tfgraph.ErrInputChoice (several outputs
// or inputs: Options.Output, Options.Input), ErrAnySize, ErrInputShape, a
// bad preset or labels file.
func Open(dir string, o Options) (*Model, error) {
	preset, err := models.Find(dir)
	if err != nil {
		return nil, err
	}
	if o.Labels != nil {
		preset.Labels = o.Labels
	}
	lo := tfgraph.LoadOptions{Tags: o.Tags, Signature: o.Signature, Device: cmp.Or(o.Device, tfgraph.DeviceAuto),
		Threads: o.Threads, InputSize: o.InputSize, Output: cmp.Or(o.Output, preset.Output),
		Input: cmp.Or(o.Input, preset.Input), InputTensor: o.InputTensor}
	if len(preset.InputSize) >= 2 {
		lo.DefaultInputSize = [2]int{preset.InputSize[0], preset.InputSize[1]}
	}
	m, err := tfgraph.Load(dir, lo)
	if err != nil {
		return nil, err
	}
	presetPre := preset.Preprocess != ""
	if preset.Preprocess == "" && (m.InputKind == tfgraph.InputUint8 || m.InputKind == tfgraph.InputEncoded) {
		// A uint8 input, and the decoded batch of an encoded one
		// (decode_jpeg then resize or cast), take pixel values 0..255.
		preset.Preprocess = string(imagefile.Raw)
	}
	// Labels for a class output: exactly one per class (an off-by-one
	// file would name every class wrongly).
	if sh := m.Output.Shape; len(preset.Labels) > 0 && len(sh) == 2 && sh[1] > 1 && int64(len(preset.Labels)) != sh[1] {
		m.Close()
		return nil, fmt.Errorf("tfcam: model %s: %w: %d labels for its %d classes (output %q); fix the labels file, one class name per line in class order", dir, ErrLabels, len(preset.Labels), sh[1], m.Output.Key)
	}
	h, w, c := m.InputSize()
	if (h <= 0 || w <= 0) && (c == 1 || c == 3) {
		m.Close()
		return nil, fmt.Errorf("tfcam: model %s %w (input %v)", dir, ErrAnySize, m.Input.Shape)
	}
	if h <= 0 || w <= 0 || (c != 1 && c != 3) {
		m.Close()
		return nil, fmt.Errorf("tfcam: model %s %w (input %v)", dir, ErrInputShape, m.Input.Shape)
	}
	pre, from := o.Preprocess, "Options.Preprocess (--preprocess)"
	switch {
	case pre != "":
	case preset.Preprocess != "" && presetPre:
		pre, from = imagefile.Preprocess(preset.Preprocess), "the model's preset ("+preset.File+")"
	case preset.Preprocess != "":
		pre, from = imagefile.Preprocess(preset.Preprocess), "the model's input: "+inputNote(m)
	default:
		pre, from = imagefile.Unit, "the default: nothing says what the model expects"
		if fw, err := m.Inline(); err == nil {
			if s, ok := fw.InputScale(); ok && (near(s, 1/255.0) || near(s, 1/127.5)) {
				pre, from = imagefile.Raw, fmt.Sprintf("the model scales its input by %.6g itself (a Rescaling layer): it takes 0..255", s)
			}
		}
	}
	if pre, err = imagefile.ParsePreprocess(string(pre)); err != nil {
		m.Close()
		return nil, err
	}
	preset.Preprocess = string(pre)
	return &Model{TF: m, Preset: preset, Preprocess: pre, PreprocessFrom: from, MaxDecodeBytes: o.MaxDecodeBytes, dir: dir, opts: o}, nil
}

// near reports whether a is within 1 % of b.
func near(a, b float64) bool { return a > 0.99*b && a < 1.01*b }

// inputNote says why a model's input takes 0..255 pixel values.
func inputNote(m *tfgraph.Model) string {
	if m.InputKind == tfgraph.InputEncoded {
		return "it takes encoded images, decoded to 0..255"
	}
	return "it takes uint8 pixels, 0..255"
}

// ErrNotReopenable is returned by Reopen for a Model not made by Open.
var ErrNotReopenable = errors.New("tfcam: model was not opened by Open; it cannot be reopened")

// Reopen loads the same SavedModel again with the same Options, into a
// new graph and session: a copy whose graph holds none of the ops that
// explainers built on m added (TensorFlow cannot remove ops from a
// graph; a long-lived server replaces the graph instead). m stays open.
func (m *Model) Reopen() (*Model, error) {
	if m.dir == "" {
		return nil, ErrNotReopenable
	}
	return Open(m.dir, m.opts)
}

// Close releases the model.
func (m *Model) Close() error { return m.TF.Close() }

// Explainer builds an explainer on the model with cfg; an empty cfg.Layer
// is the preset's default layer (else the explainer's choice: the last
// spatial layer). The explainer lives as long as the model.
func (m *Model) Explainer(cfg explainer.Config) (*explainer.Explainer, error) {
	return m.ExplainerContext(context.Background(), cfg)
}

// ExplainerContext is Explainer stopped by ctx (explainer.NewContext): a
// method whose copies run in hundreds of chunks takes tens of seconds to
// build.
func (m *Model) ExplainerContext(ctx context.Context, cfg explainer.Config) (*explainer.Explainer, error) {
	cfg.Layer = cmp.Or(cfg.Layer, m.Preset.Layer)
	return explainer.NewContext(ctx, m.TF, cfg)
}

// Decoder returns a decoder of image files into this model's inputs, with
// views (for overlays) of at most viewSize pixels on their longest side
// (0: no view, as predict needs). Close it when done.
func (m *Model) Decoder(viewSize int) (*tfimage.Decoder, error) {
	h, w, c := m.TF.InputSize()
	return tfimage.NewDecoder(tfimage.DecodeOptions{Width: w, Height: h, Channels: c, Preprocess: m.Preprocess, ViewSize: viewSize, MaxBytes: m.MaxDecodeBytes})
}
