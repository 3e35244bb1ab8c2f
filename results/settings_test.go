package results

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/internal/fakes3"
)

// TestCheckSettings: a results folder or bucket records the settings of
// its first run; a rerun with the same ones resumes, one with others is
// refused naming each difference (and writes nothing) unless forced, when
// the new ones are recorded.
func TestCheckSettings(t *testing.T) {
	s3 := fakes3.Start(t)
	s3.CreateBucket(t, "out")
	base := Settings{Model: "/m", Layer: "conv", Methods: []string{"gradcam"}, Class: "top1", Target: "class",
		Score: "logits", Preprocess: "unit", InputSize: "64x64", Outputs: []string{"overlay", "map16"}, Overlay: "jpeg jet alpha 0.5 quality 90 size 512"}
	other := base
	other.Methods, other.Class = []string{"layercam"}, "top3"
	for name, out := range map[string]string{"folder": t.TempDir(), "bucket": s3.URL("out", "run/")} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if err := CheckSettings(ctx, out, base, false); err != nil {
				t.Fatalf("first run: %v", err)
			}
			if err := CheckSettings(ctx, out, base, false); err != nil {
				t.Fatalf("rerun with the same settings: %v", err)
			}
			err := CheckSettings(ctx, out, other, false)
			var se *SettingsError
			if !errors.As(err, &se) || !errors.Is(err, ErrOtherSettings) || len(se.Changes) != 2 ||
				!strings.Contains(err.Error(), "methods [gradcam] → [layercam]") || !strings.Contains(err.Error(), "class top1 → top3") {
				t.Fatalf("rerun with other settings: %v, want a *SettingsError naming methods and class", err)
			}
			if err := CheckSettings(ctx, out, base, false); err != nil {
				t.Errorf("the refused run recorded its settings: %v", err)
			}
			if err := CheckSettings(ctx, out, other, true); err != nil {
				t.Fatalf("forced: %v", err)
			}
			if err := CheckSettings(ctx, out, other, false); err != nil {
				t.Errorf("after the forced run, its settings: %v", err)
			}
		})
	}
	// A settings file that is not JSON is reported, not overwritten.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, SettingsName), []byte("{cut short"), 0o644)
	if err := CheckSettings(context.Background(), dir, base, false); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Errorf("unreadable settings: %v", err)
	}
}
