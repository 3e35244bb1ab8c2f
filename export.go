package tfcam

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/models"
	"github.com/tfcam/tfcam/tfgraph"
)

// The signatures an export adds to the model's own.
const (
	// SignatureExplain explains each image's top-1 class: input the
	// model's own image input (its key), outputs ExportOutputs.
	SignatureExplain = "explain"
	// SignatureExplainClass explains given classes: inputs the image
	// input and "class", int32 [N] (−1: the image's top-1 class).
	SignatureExplainClass = "explain_class"
)

// ErrExportExists is returned by Export when its folder exists and
// ExportOptions.Force is not set.
var ErrExportExists = errors.New("the export folder exists")

// ErrExportConcepts is returned by Export for a concept method (one that
// makes several maps per image, explainer.ConceptMethod): the export's
// signatures hold one map per method.
var ErrExportConcepts = errors.New("it makes several concept maps per image, which the export's signatures (one map per method) do not hold yet; export the other methods")

// ExportOptions are Model.Export's options.
type ExportOptions struct {
	// Force replaces an existing export folder, once the new export is
	// written whole. A folder that is not a SavedModel is never replaced.
	Force bool
}

// Export is what Model.Export wrote.
type Export struct {
	// Dir is the SavedModel folder.
	Dir string
	// Methods are the exported methods, in the order of MapKeys.
	Methods []string
	// InputKey is the key of the image input of both signatures (the
	// model's own).
	InputKey string
	// MapKeys are the signatures' map outputs, one per method ("map_"
	// and the method's name, "+" as "p", other signs as "_"), [N,H,W]
	// normalised; RawKeys the maps before normalisation ("raw_...").
	MapKeys, RawKeys []string
	// Skipped are the configured methods that do not apply to the model
	// (with why), as Explainer.Skipped.
	Skipped []*explainer.NotApplicableError
	// AddedNodes is how many nodes the explanation adds to the model's
	// graph; GraphBytes is the size of the written saved_model.pb.
	AddedNodes int
	GraphBytes int64
}

// Export writes the model as a SavedModel that also explains: its own
// signatures unchanged, and SignatureExplain and SignatureExplainClass,
// which return the predictions ("predictions", "predicted_classes"), the
// explained class ("class") and its score ("score"), and per method the
// map as Explain normalises it — computed by TensorFlow alone, so any
// TensorFlow runtime (Python's tf.saved_model.load, TF Serving, the C
// API) runs tfcam's methods without tfcam. The variables are the model's
// checkpoint, copied. cfg is an explainer configuration as Explainer's
// (an empty Layer is the preset's). m must be used for nothing else
// before: the explainer is built on its graph without the stop checks
// that let a run be stopped between chunks (its flag is not part of the
// export), and every op built on it is written.
func (m *Model) Export(ctx context.Context, cfg explainer.Config, dir string, o ExportOptions) (Export, error) {
	if st, err := os.Stat(dir); err == nil {
		if !o.Force {
			return Export{}, fmt.Errorf("tfcam: export to %s: %w", dir, ErrExportExists)
		}
		if !st.IsDir() || !isSavedModel(dir) {
			return Export{}, fmt.Errorf("tfcam: export to %s: %w, and is not a SavedModel: it is not replaced", dir, ErrExportExists)
		}
	}
	if same, err := sameDir(dir, m.TF.Dir); err == nil && same {
		return Export{}, fmt.Errorf("tfcam: export to %s: that is the model's own folder", dir)
	}
	for _, meth := range cfg.Methods {
		if _, ok := meth.(explainer.ConceptMethod); ok {
			return Export{}, fmt.Errorf("tfcam: export: method %s: %w", meth.Name(), ErrExportConcepts)
		}
	}
	m.TF.OmitStopChecks()
	e, err := m.ExplainerContext(ctx, cfg)
	if err != nil {
		return Export{}, err
	}
	sig, err := e.Signature(ctx)
	if err != nil {
		return Export{}, err
	}
	x := Export{Dir: dir, Methods: sig.Methods, InputKey: m.TF.Input.Key, Skipped: e.Skipped()}
	outputs := map[string]tf.Output{"predictions": sig.Predictions, "predicted_classes": sig.PredictedClasses, "class": sig.Class, "score": sig.Score}
	for i, name := range sig.Methods {
		key := "map_" + outputKey(name)
		if _, dup := outputs[key]; dup {
			return Export{}, fmt.Errorf("tfcam: export: method %s appears twice; export each setting of it separately", name)
		}
		outputs[key] = sig.Maps[i]
		outputs["raw_"+outputKey(name)] = sig.Raw[i]
		x.MapKeys = append(x.MapKeys, key)
		x.RawKeys = append(x.RawKeys, "raw_"+outputKey(name))
	}
	sigs := map[string]tfgraph.SignatureTensors{
		SignatureExplain:      {Inputs: map[string]tf.Output{x.InputKey: sig.Input}, Outputs: outputs},
		SignatureExplainClass: {Inputs: map[string]tf.Output{x.InputKey: sig.Input, "class": sig.Classes}, Outputs: outputs},
	}
	target := dir
	if o.Force {
		if _, err := os.Stat(dir); err == nil {
			target = dir + ".tfcam-new"
			os.RemoveAll(target) // a leftover of an export that was killed
		}
	}
	files, err := m.exportPreset(e, sig.Methods)
	if err != nil {
		return Export{}, err
	}
	if x.AddedNodes, err = m.TF.WriteSavedModel(target, sigs, files); err != nil {
		return Export{}, err
	}
	if target != dir {
		old := dir + ".tfcam-old"
		os.RemoveAll(old)
		if err := os.Rename(dir, old); err != nil {
			os.RemoveAll(target)
			return Export{}, fmt.Errorf("tfcam: replacing %s: %w", dir, err)
		}
		if err := os.Rename(target, dir); err != nil {
			os.Rename(old, dir)
			return Export{}, fmt.Errorf("tfcam: replacing %s: %w", dir, err)
		}
		os.RemoveAll(old)
	}
	if st, err := os.Stat(filepath.Join(dir, "saved_model.pb")); err == nil {
		x.GraphBytes = st.Size()
	}
	return x, nil
}

// exportPreset is the export's tfcam.json (the preprocessing the model is
// fed, the explained layer, the input size and signature keys, so that
// tfcam reads the export as it read the model) and its labels.txt.
func (m *Model) exportPreset(e *explainer.Explainer, methods []string) (map[string][]byte, error) {
	h, w, _ := m.TF.InputSize()
	p := models.Preset{Name: cmp.Or(m.Preset.Name, filepath.Base(filepath.Clean(m.TF.Dir))), Preprocess: string(m.Preprocess), Layer: e.Layer().Name,
		InputSize: []int{h, w}, Output: m.TF.Output.Key, Input: m.TF.Input.Key,
		Source: fmt.Sprintf("tfcam export of %s with %s (preprocessing from %s)", m.TF.Dir, strings.Join(methods, ","), m.PreprocessFrom)}
	if m.Preset.Source != "" {
		p.Source += "; " + m.Preset.Source
	}
	raw, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("tfcam: export preset: %w", err)
	}
	files := map[string][]byte{models.PresetFile: append(raw, '\n')}
	if len(m.Preset.Labels) > 0 {
		files["labels.txt"] = []byte(strings.Join(m.Preset.Labels, "\n") + "\n")
	}
	return files, nil
}

// outputKey is a method's name as a signature output key: letters,
// digits and underscores ("gradcam++" is "gradcampp").
func outputKey(method string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		case r == '+':
			return 'p'
		}
		return '_'
	}, method)
}

func isSavedModel(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "saved_model.pb"))
	return err == nil
}

func sameDir(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}
