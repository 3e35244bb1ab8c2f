package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/models"
	"github.com/tfcam/tfcam/tfgraph"
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
}

func (f *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "SavedModel directory (required)")
	fs.StringVar(&f.tags, "tags", "", "MetaGraph tags, comma-separated (default: serve)")
	fs.StringVar(&f.signature, "signature", "", "signature key (default: serving_default)")
	fs.StringVar(&f.device, "device", "auto", "where TensorFlow runs: auto, cpu or gpu (gpu fails when TensorFlow sees none)")
	fs.StringVar(&f.preprocess, "preprocess", "", "pixel preprocessing: raw (0..255), unit ([0,1]), tf ([-1,1]), caffe (BGR, mean-subtracted), torch (mean/std); default: the model preset's, else unit")
	fs.StringVar(&f.labels, "labels", "", "class names, one per line in class order (default: the model preset's)")
	fs.IntVar(&f.threads, "threads", 0, "TensorFlow threads (0: all cores)")
}

// load opens the model and its preset.
func (f *modelFlags) load() (*tfgraph.Model, models.Preset, error) {
	if f.model == "" {
		return nil, models.Preset{}, usageError("--model is required")
	}
	preset, err := models.Find(f.model)
	if err != nil {
		return nil, preset, err
	}
	if f.labels != "" {
		if preset.Labels, err = models.ReadLabels(f.labels); err != nil {
			return nil, preset, err
		}
	}
	dev := tfgraph.Device(strings.ToLower(f.device))
	if dev == "auto" {
		dev = tfgraph.DeviceAuto
	}
	if dev != tfgraph.DeviceAuto && dev != tfgraph.DeviceCPU && dev != tfgraph.DeviceGPU {
		return nil, preset, usageError(fmt.Sprintf("--device %q: want auto, cpu or gpu", f.device))
	}
	opts := tfgraph.LoadOptions{Signature: f.signature, Device: dev, Threads: f.threads}
	if f.tags != "" {
		opts.Tags = strings.Split(f.tags, ",")
	}
	m, err := tfgraph.Load(f.model, opts)
	if err != nil {
		return nil, preset, err
	}
	h, w, c := m.InputSize()
	if h <= 0 || w <= 0 || (c != 1 && c != 3) {
		m.Close()
		return nil, preset, fmt.Errorf("model %s takes input %v; tfcam needs a fixed [N,H,W,3] (or 1-channel) image input", f.model, m.Input.Shape)
	}
	return m, preset, nil
}

// preprocess resolves the pixel preset: flag, then model preset, then unit.
func (f *modelFlags) pixelPreset(preset models.Preset) (imagefile.Preprocess, error) {
	name := f.preprocess
	if name == "" {
		name = preset.Preprocess
	}
	if name == "" {
		name = string(imagefile.Unit)
	}
	p, err := imagefile.ParsePreprocess(name)
	if err != nil {
		return "", usageError("--preprocess: " + err.Error())
	}
	return p, nil
}

// explainer loads the model and builds an explainer on it: the layer is the
// flag's, else the preset's; probs explains probabilities instead of logits.
// The caller closes the model.
func (f *modelFlags) explainer(layer string, cfg explainer.Config, probs bool) (*tfgraph.Model, models.Preset, imagefile.Preprocess, *explainer.Explainer, error) {
	m, preset, err := f.load()
	if err != nil {
		return nil, preset, "", nil, err
	}
	fail := func(err error) (*tfgraph.Model, models.Preset, imagefile.Preprocess, *explainer.Explainer, error) {
		m.Close()
		return nil, preset, "", nil, err
	}
	pre, err := f.pixelPreset(preset)
	if err != nil {
		return fail(err)
	}
	cfg.Layer = layer
	if cfg.Layer == "" {
		cfg.Layer = preset.Layer
	}
	if probs {
		cfg.Score = tfgraph.Probabilities
	}
	e, err := explainer.New(m, cfg)
	if err != nil {
		return fail(err)
	}
	return m, preset, pre, e, nil
}
