package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/results"
)

// predictHelp is `tfcam predict -h`.
var predictHelp = help{
	synopsis: []string{"tfcam predict --model DIR [flags] INPUTS..."},
	about: `Prints the model's best classes for each image, with their labels and
scores, and says how the images are preprocessed. INPUTS are image files,
folders, globs, @list.txt files, - (a list on stdin) or object-store URLs;
flags may follow them.`,
	examples: []example{
		{"the demo photos' top 5", "tfcam predict --model .models/efficientnet_lite0/model .models/efficientnet_lite0/photos"},
		{"the best class of one photo, as JSON lines", "tfcam predict .models/efficientnet_lite0/photos/chelsea.png --model .models/efficientnet_lite0/model --top 1 --json"},
		{"check a preprocessing guess", "tfcam predict --model my_model/ --preprocess tf photos/"},
	},
	main: []string{"model", "top", "json", "preprocess", "labels"},
	groups: []flagGroup{
		{"Run", []string{"batch", "workers", "threads", "device", "max-decode-mb"}},
		{"Model", []string{"size", "output", "input", "input-tensor", "signature", "tags"}},
	},
}

func runPredict(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	var f modelFlags
	f.register(fs)
	top := fs.Int("top", 5, "predictions per image")
	asJSON := fs.Bool("json", false, "print JSON lines instead of text")
	batch := fs.Int("batch", 32, "images per TensorFlow run (1..4096)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines reading and decoding images (1..1024)")
	fs.Usage = predictHelp.usage(fs)
	if err := parseArgs(fs, args); err != nil {
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
	// What the model is fed, always said: a wrong preprocessing is
	// otherwise a silently wrong answer.
	fmt.Fprintf(os.Stderr, "tfcam predict: %d images, model %s, %s, %s\n", len(images), m.TF.Dir, preprocessNote(m), deviceNote(m.TF))
	warnPreprocess(ctx, os.Stderr, m, fs.Args())
	bad.report(os.Stderr)
	sum, err := m.Predict(ctx, slices.Values(images), tfcam.PredictOptions{Top: *top, Batch: *batch, Workers: *workers,
		Progress: newProgress(os.Stderr, isTerminal(os.Stderr), len(images)), StopGrace: stopGrace},
		func(in inputs.Input, preds []results.Prediction) error {
			if *asJSON {
				line, err := json.Marshal(map[string]any{"input": in.Path, "predictions": preds})
				if err != nil {
					return err
				}
				_, err = fmt.Println(string(line))
				return err
			}
			fmt.Println(in.Path)
			for _, p := range preds {
				fmt.Printf("  %8.4f  %4d  %s\n", p.Score, p.Class, p.Label)
			}
			return nil
		})
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
