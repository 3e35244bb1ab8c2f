package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"

	"github.com/tfcam/tfcam/imagefile"
)

func runPredict(args []string) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	var f modelFlags
	f.register(fs)
	top := fs.Int("top", 5, "predictions per image")
	asJSON := fs.Bool("json", false, "print JSON lines instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError("no inputs: give image files, directories, globs, @list.txt or -")
	}
	inputs, err := expandInputs(fs.Args(), os.Stdin)
	if err != nil {
		return err
	}
	m, preset, err := f.load()
	if err != nil {
		return err
	}
	defer m.Close()
	pre, err := f.pixelPreset(preset)
	if err != nil {
		return err
	}
	h, w, c := m.InputSize()
	failed := 0
	for _, in := range inputs {
		img, err := imagefile.Decode(in.Path)
		pixels := make([]float32, h*w*c)
		if err == nil {
			err = imagefile.ToTensor(img, w, h, c, pre, pixels)
		}
		var out []float32
		if err == nil {
			out, _, err = m.Predict(context.Background(), pixels, 1)
		}
		if err != nil {
			failed++
			fmt.Fprintf(os.Stderr, "skipped %s: %v\n", in.Path, err)
			continue
		}
		idx := make([]int, len(out))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return out[idx[a]] > out[idx[b]] })
		var preds []recordPrediction
		for _, i := range idx[:min(*top, len(idx))] {
			preds = append(preds, recordPrediction{Class: i, Label: preset.Label(i), Score: out[i]})
		}
		if *asJSON {
			line, _ := json.Marshal(map[string]any{"input": in.Path, "predictions": preds})
			fmt.Println(string(line))
			continue
		}
		fmt.Println(in.Path)
		for _, p := range preds {
			fmt.Printf("  %8.4f  %4d  %s\n", p.Score, p.Class, p.Label)
		}
	}
	if failed > 0 {
		return exitError{1, fmt.Sprintf("%d of %d images failed", failed, len(inputs))}
	}
	return nil
}
