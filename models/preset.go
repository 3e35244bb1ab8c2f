package models

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Preset describes a model beyond its SavedModel. Zero fields mean "not
// known": callers fall back to flags or defaults.
type Preset struct {
	// Name is a display name.
	Name string `json:"name"`
	// Preprocess is the pixel preset the weights expect (raw, unit, tf,
	// caffe, torch; see imagefile.Preprocess).
	Preprocess string `json:"preprocess"`
	// Layer is the layer to explain by default.
	Layer string `json:"default_layer"`
	// InputSize is [height, width] (a third number, channels, is
	// ignored): the size to run a model that takes any size at, when no
	// size is given. Ignored for models with a fixed size.
	InputSize []int `json:"input_size,omitempty"`
	// Labels are the class names, index order.
	Labels []string `json:"-"`
	// Output is the signature output key of the class scores, for a
	// signature with several outputs (tfgraph.LoadOptions.Output).
	Output string `json:"output,omitempty"`
	// Input is the signature input key of the image batch, for a signature
	// with several inputs (tfgraph.LoadOptions.Input).
	Input string `json:"input,omitempty"`
	// Source says where the model came from.
	Source string `json:"source,omitempty"`
	// File is the preset file that was read ("" when none was found).
	File string `json:"-"`
}

// PresetFile is the name of a preset file inside a SavedModel directory.
const PresetFile = "tfcam.json"

// Find reads the preset of the SavedModel in modelDir: modelDir/tfcam.json,
// else meta.json in its parent folder (the layout of tfcam's fixture and
// demo models). Labels come from labels.txt beside the preset file. No
// preset file is not an error: the zero Preset comes back.
func Find(modelDir string) (Preset, error) {
	for _, path := range []string{filepath.Join(modelDir, PresetFile), filepath.Join(filepath.Dir(filepath.Clean(modelDir)), "meta.json")} {
		raw, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return Preset{}, fmt.Errorf("models: %w", err)
		}
		var p Preset
		if err := json.Unmarshal(raw, &p); err != nil {
			return Preset{}, fmt.Errorf("models: %s is not valid JSON: %w", path, err)
		}
		p.File = path
		labels := filepath.Join(filepath.Dir(path), "labels.txt")
		if _, err := os.Stat(labels); err == nil {
			if p.Labels, err = ReadLabels(labels); err != nil {
				return Preset{}, err
			}
		}
		return p, nil
	}
	return Preset{}, nil
}

// ReadLabels reads class names, one per line, in class-index order. Blank
// lines count (they keep the indices right) and are named "class N".
func ReadLabels(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("models: labels: %w", err)
	}
	defer f.Close()
	var labels []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" {
			l = fmt.Sprintf("class %d", len(labels))
		}
		labels = append(labels, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("models: reading labels %s: %w", path, err)
	}
	// A trailing blank line is not a class.
	for len(labels) > 0 && labels[len(labels)-1] == fmt.Sprintf("class %d", len(labels)-1) {
		labels = labels[:len(labels)-1]
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("models: labels file %s is empty", path)
	}
	return labels, nil
}

// Label names class c, or "class c" when no name is known.
func (p Preset) Label(c int) string {
	if c >= 0 && c < len(p.Labels) {
		return p.Labels[c]
	}
	return fmt.Sprintf("class %d", c)
}
