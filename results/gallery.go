package results

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/tfcam/tfcam/render"
)

// galleryPerPage is the number of images to a page of a results folder's
// gallery.
const galleryPerPage = 200

// WriteGallery builds the gallery (index.html, titled title) of the
// results folder out from every results file in it (all shards), so that
// resumed and sharded runs show everything finished. Lines cut short by a
// crash are skipped. cmap is the colormap the overlays were made with,
// drawn as the gallery's legend. failed are the run's inputs that could
// not be explained: each gets an entry saying why, found by the page's
// "failed" filter.
//
// Each image shows one row per explained class, its scores named by the
// line's prediction_score and map_score (lines written before those
// existed show "score"), and its flat maps marked; maps without an
// overlay file are left out.
func WriteGallery(out, title string, cmap render.Colormap, failed []Failure) error {
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
			images = append(images, galleryImage(rec))
		}
	}
	for _, f := range failed {
		images = append(images, render.GalleryImage{Input: f.Input, Failed: f.Reason})
	}
	sort.SliceStable(images, func(i, j int) bool { return images[i].Input < images[j].Input })
	g := render.Gallery{Title: title, Images: images, Colormap: cmap, PerPage: galleryPerPage}
	return g.Write(out)
}

// Failure is an input a run could not explain, for the gallery.
type Failure struct {
	// Input names it as the run's records do; Reason is the error.
	Input, Reason string
}

// galleryImage is rec as the gallery shows it.
func galleryImage(rec Record) render.GalleryImage {
	gi := render.GalleryImage{Input: rec.Input, Original: rec.Original, PredictionScore: rec.PredictionScore}
	for _, p := range rec.Predictions {
		gi.Predictions = append(gi.Predictions, render.GalleryPrediction{Label: p.Label, Score: p.Score})
	}
	for _, mp := range rec.Maps {
		if mp.Overlay == "" {
			continue
		}
		gi.Maps = append(gi.Maps, render.GalleryMap{Method: mp.Method, Class: fmt.Sprintf("%s (%d)", mp.Label, mp.Class),
			Score: mp.Score, ScoreName: cmp.Or(rec.MapScore, "score"), Flat: mp.Flat, Kind: mp.Kind, Overlay: mp.Overlay})
	}
	return gi
}
