package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/explainer"
)

// exportOptions are the flags of `tfcam export`.
type exportOptions struct {
	modelFlags
	explainFlags
	methods string
	target  string
	out     string
	force   bool
}

// exportHelp is `tfcam export -h`; docs/export.md says the rest.
var exportHelp = help{
	synopsis: []string{"tfcam export --model DIR --out EXPORT_DIR [flags]"},
	about: `Writes the model as a SavedModel that also explains: its signatures
unchanged, and "explain" (the model's image input; the top-1 class) and
"explain_class" (and "class", int32 per image, -1: top-1) returning the
predictions, the explained class and score, and per method the map
normalised as tfcam explain normalises it ("map_METHOD", [N,H,W]; before
normalisation "raw_METHOD"). Python's tf.saved_model.load, TF Serving and
tfcam itself run it; no Go needed. docs/export.md.`,
	examples: []example{
		{"Grad-CAM and Score-CAM of the demo model, as a SavedModel",
			"tfcam export --model .models/efficientnet_lite0/model --method gradcam,scorecam --out lite0_explained"},
		{"the probability's Grad-CAM++ at another layer, replacing an earlier export",
			"tfcam export --model my_model/ --method gradcam++ --layer block5_conv3 --probabilities --out my_model_explained --force"},
		{"then in Python: maps without Go",
			`python -c 'import tensorflow as tf; print(tf.saved_model.load("lite0_explained").signatures["explain"].structured_outputs)'`},
	},
	main: []string{"model", "out", "method", "layer", "target", "force"},
	groups: []flagGroup{
		{"Method", []string{"probabilities", "seed", "tokens", "max-tensor-mb"}},
		{"Model", []string{"labels", "size", "output", "input", "input-tensor", "signature", "tags", "device", "threads", "preprocess", "max-decode-mb"}},
	},
}

func runExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var o exportOptions
	o.modelFlags.register(fs)
	o.explainFlags.register(fs, "explain the probability instead of the logit (the input of a final softmax/sigmoid)")
	fs.StringVar(&o.methods, "method", "gradcam", "methods, comma-separated, each NAME[:key=value]... (tfcam methods)")
	fs.StringVar(&o.target, "target", "class", targetUsage)
	fs.StringVar(&o.out, "out", "", "the SavedModel folder to write (required; must not exist unless --force)")
	fs.BoolVar(&o.force, "force", false, "replace --out if it is a SavedModel (once the new one is written whole)")
	fs.Usage = exportHelp.usage(fs)
	if err := parseArgs(fs, args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("unexpected arguments %q: export takes no inputs", fs.Args()))
	}
	return exportRun(ctx, o, os.Stderr)
}

func exportRun(ctx context.Context, o exportOptions, log io.Writer) error {
	if o.out == "" {
		return usageError("--out is required")
	}
	if _, err := os.Stat(o.out); err == nil && !o.force {
		return usageError(fmt.Sprintf("--out %s exists: choose another folder, or add --force to replace it (only a SavedModel is replaced)", o.out))
	}
	methods, err := explainer.ParseMethods(o.methods)
	if err != nil {
		return usageError("--method: " + err.Error())
	}
	for _, meth := range methods {
		if _, ok := meth.(explainer.ConceptMethod); ok {
			return usageError(fmt.Sprintf("--method: %s: %v", meth.Name(), tfcam.ErrExportConcepts))
		}
	}
	target, err := parseTarget(o.target)
	if err != nil {
		return err
	}
	m, err := o.open()
	if err != nil {
		return err
	}
	defer m.Close()
	cfg, err := o.explainFlags.config(m.Preset, explainer.Config{Methods: methods})
	if err != nil {
		return configError(err)
	}
	if cfg.Objective, err = target.Objective(ctx, m); err != nil {
		return configError(targetError(err))
	}
	x, err := m.Export(ctx, cfg, o.out, tfcam.ExportOptions{Force: o.force})
	switch {
	case errors.Is(err, context.Canceled):
		return exitError{code: signalExitCode(), msg: "interrupted while building the export; nothing was written"}
	case errors.Is(err, tfcam.ErrExportConcepts):
		return usageError("--method: " + err.Error())
	case errors.Is(err, explainer.ErrObjective):
		return configError(fmt.Errorf("--target: %w; choose the model output it fits with --output KEY (see `tfcam layers`)", err))
	case err != nil:
		var na *explainer.NotApplicableError
		if errors.As(err, &na) || strings.Contains(err.Error(), "no configured method applies") {
			return configError(err)
		}
		return err
	}
	for _, s := range x.Skipped {
		fmt.Fprintf(log, "skipped: %v\n", s)
	}
	fmt.Fprintf(log, "tfcam export: wrote %s: signatures %q and %q (input %q; outputs predictions, predicted_classes, class, score, %s), %d nodes added to the model's graph, saved_model.pb %.1f MB, variables copied\n",
		x.Dir, tfcam.SignatureExplain, tfcam.SignatureExplainClass, x.InputKey, strings.Join(x.MapKeys, ", "), x.AddedNodes, float64(x.GraphBytes)/1e6)
	return nil
}
