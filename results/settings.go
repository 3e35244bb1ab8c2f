package results

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/tfcam/tfcam/internal/atomicfile"
	"github.com/tfcam/tfcam/storage"
)

// SettingsName is the file in a results folder (or bucket prefix) that
// records the settings its outputs were made with.
const SettingsName = "tfcam-run.json"

// Settings are what a run's outputs depend on. A rerun into the same
// results resumes only with the same settings: an image already done
// with other ones would be skipped, its outputs those of the old
// settings (CheckSettings).
type Settings struct {
	Model      string   `json:"model"`
	Layer      string   `json:"layer"`
	Methods    []string `json:"methods"` // each as a --method spec, its non-default options spelled out
	Class      string   `json:"class"`
	Target     string   `json:"target"`
	Score      string   `json:"score"`
	Preprocess string   `json:"preprocess"`
	InputSize  string   `json:"input_size"`
	Seed       int64    `json:"seed"`
	// Outputs are the files written per map and how overlays look.
	Outputs []string `json:"outputs"`
	Overlay string   `json:"overlay"`
}

// ErrOtherSettings is returned by CheckSettings when the results were
// made with other settings.
var ErrOtherSettings = errors.New("the results were made with other settings")

// SettingsError says which settings differ.
type SettingsError struct {
	// Out is the results folder or URL; Changes name each differing
	// setting: "methods [gradcam] → [layercam]".
	Out     string
	Changes []string
}

func (e *SettingsError) Error() string {
	return fmt.Sprintf("%s: %v (%s); a run resumes only with the same settings", storage.WithoutQuery(e.Out), ErrOtherSettings, strings.Join(e.Changes, "; "))
}

func (e *SettingsError) Unwrap() error { return ErrOtherSettings }

// CheckSettings compares s with the settings recorded in out, a results
// folder or bucket URL, and records s when out has none yet (a new
// results folder, or one made before tfcam recorded them) or when force
// is set (the caller redoes what it explains with s). Otherwise a
// difference is a *SettingsError (ErrOtherSettings) and nothing is
// written.
func CheckSettings(ctx context.Context, out string, s Settings, force bool) error {
	read, write, closeFn, err := settingsStore(ctx, out)
	if err != nil {
		return err
	}
	defer closeFn()
	data, err := read()
	switch {
	case err == nil && !force:
		var old Settings
		if err := json.Unmarshal(data, &old); err != nil {
			return fmt.Errorf("%s: %s is unreadable (%v); remove it, or rerun with --force", storage.WithoutQuery(out), SettingsName, err)
		}
		if changes := diffSettings(old, s); len(changes) > 0 {
			return &SettingsError{Out: out, Changes: changes}
		}
		return nil
	case err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, storage.ErrNotFound):
		return err
	}
	data, err = json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return write(append(data, '\n'))
}

// settingsStore reads and writes out's settings file.
func settingsStore(ctx context.Context, out string) (read func() ([]byte, error), write func([]byte) error, closeFn func(), err error) {
	if !storage.IsURL(out) || strings.HasPrefix(out, "file://") {
		path := filepath.Join(strings.TrimPrefix(out, "file://"), SettingsName)
		return func() ([]byte, error) { return os.ReadFile(path) },
			func(data []byte) error { return atomicfile.WriteBytes(path, data, atomicfile.Options{}) }, func() {}, nil
	}
	loc, err := storage.Open(ctx, out)
	if err != nil {
		return nil, nil, nil, err
	}
	return func() ([]byte, error) { return loc.Read(ctx, SettingsName, 1<<20) },
		func(data []byte) error { return loc.Write(ctx, SettingsName, data, "application/json") },
		func() { loc.Close() }, nil
}

// diffSettings names the fields of b that differ from a's.
func diffSettings(a, b Settings) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		x, y := va.Field(i).Interface(), vb.Field(i).Interface()
		if !reflect.DeepEqual(x, y) {
			name, _, _ := strings.Cut(va.Type().Field(i).Tag.Get("json"), ",")
			out = append(out, fmt.Sprintf("%s %v → %v", name, x, y))
		}
	}
	return out
}
