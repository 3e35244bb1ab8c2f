package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/tfgraph"
)

// ModelConfig is one model of a serve configuration file: the model
// flags of `tfcam serve` by their names, fixed per model.
type ModelConfig struct {
	Name          string `json:"name"`
	Model         string `json:"model"`
	Tags          string `json:"tags"`
	Signature     string `json:"signature"`
	Preprocess    string `json:"preprocess"`
	Labels        string `json:"labels"`
	Size          string `json:"size"`
	Layer         string `json:"layer"`
	Probabilities bool   `json:"probabilities"`
	Seed          int64  `json:"seed"`
	MaxTensorMB   int    `json:"max_tensor_mb"`
	Tokens        string `json:"tokens"`
	Method        string `json:"method"`
	Class         string `json:"class"`
	// Output and Target say what the model's maps explain: the model
	// output and the target on it (tfcam.ParseTarget).
	Output string `json:"output"`
	Target string `json:"target"`
}

// ErrConfig is wrapped by every error of ReadConfig about the file's
// content.
var ErrConfig = errors.New("serve: bad configuration")

// ReadConfig reads a configuration file listing models — JSON, or YAML
// for .yaml/.yml — {"models": [{"name": ..., "model": DIR, ...}, ...]}:
// unknown fields, a model without a name or directory, a bad
// max_tensor_mb, tokens or target are refused (ErrConfig) before any
// model loads. An empty method is gradcam.
func ReadConfig(path string) ([]ModelConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, path, fmt.Sprintf(format, args...))
	}
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".yaml" || ext == ".yml" {
		if data, err = yaml.YAMLToJSON(data); err != nil {
			return nil, bad("%v", err)
		}
	}
	var cfg struct {
		Models []ModelConfig `json:"models"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, bad("%v", err)
	}
	if len(cfg.Models) == 0 {
		return nil, bad("lists no models: want models: [{name: NAME, model: DIR}, ...]")
	}
	for i, mc := range cfg.Models {
		switch {
		case mc.Name == "" || mc.Model == "":
			return nil, bad("model %d needs a name and a model directory", i)
		case mc.MaxTensorMB < 0 || mc.MaxTensorMB > 8192:
			return nil, bad("model %q: max_tensor_mb %d: want 0 (1024) or 1..8192", mc.Name, mc.MaxTensorMB)
		}
		if _, err := tfgraph.ParseTokens(mc.Tokens); err != nil {
			return nil, bad("model %q: tokens: %v", mc.Name, err)
		}
		if _, err := tfcam.ParseTarget(mc.Target); err != nil {
			return nil, bad("model %q: target: %v", mc.Name, strings.TrimPrefix(err.Error(), "target "))
		}
		if mc.Method == "" {
			cfg.Models[i].Method = "gradcam"
		}
	}
	return cfg.Models, nil
}
