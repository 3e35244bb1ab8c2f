package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/tfcam/tfcam/render"
)

// WriteGallery builds the gallery (index.html, titled title) of the
// results folder out from every results file in it (all shards), so that
// resumed and sharded runs show everything finished. Lines cut short by a
// crash are skipped.
func WriteGallery(out, title string) error {
	files, err := filepath.Glob(filepath.Join(out, "results*.jsonl"))
	if err != nil {
		return err
	}
	var images []render.GalleryImage
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for line := range lines(data) {
			var rec Record
			if json.Unmarshal(line, &rec) != nil {
				continue // a line cut short by a crash
			}
			gi := render.GalleryImage{Input: rec.Input, Original: rec.Original}
			for _, p := range rec.Predictions {
				gi.Predictions = append(gi.Predictions, render.GalleryPrediction{Label: p.Label, Score: p.Score})
			}
			for _, mp := range rec.Maps {
				if mp.Overlay != "" {
					gi.Maps = append(gi.Maps, render.GalleryMap{Method: mp.Method, Class: fmt.Sprintf("%s (%d)", mp.Label, mp.Class), Overlay: mp.Overlay})
				}
			}
			images = append(images, gi)
		}
	}
	sort.SliceStable(images, func(i, j int) bool { return images[i].Input < images[j].Input })
	return render.WriteGallery(out, title, images, 200)
}
