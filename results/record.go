package results

import (
	"bytes"
	"iter"
)

// Record is one image's line in results.jsonl (and, in serve, one
// image of an answer).
type Record struct {
	Input string `json:"input"`
	Key   string `json:"key"`
	Model string `json:"model"`
	Layer string `json:"layer"`
	Seed  int64  `json:"seed,omitempty"`
	// Target is what was explained when not the class scores
	// ("embedding:ref=…", "region", "contrast:class=3"); labels then name
	// the target's columns, not classes.
	Target string `json:"target,omitempty"`
	// PredictionScore and MapScore say what predictions[].score and
	// maps[].score are: "model output" (the model's own, probabilities
	// when it ends in a softmax), "logit", "probability" or "target score".
	PredictionScore string             `json:"prediction_score,omitempty"`
	MapScore        string             `json:"map_score,omitempty"`
	Predictions     []Prediction       `json:"predictions"`
	Maps            []Map              `json:"maps"`
	Original        string             `json:"original,omitempty"`
	Width           int                `json:"width"`
	Height          int                `json:"height"`
	TimingsMS       map[string]float64 `json:"timings_ms"`
	// Warnings say why the maps may mean nothing although the image was
	// explained (an image that decoded to one colour throughout).
	Warnings []string `json:"warnings,omitempty"`
}

// Prediction is one class of the model's top predictions.
type Prediction struct {
	Class int     `json:"class"`
	Label string  `json:"label"`
	Score float32 `json:"score"`
}

// Explanation says what one map explains: the method and the class, its
// label, its rank among the image's top classes and its score.
// `tfcam explain`'s results lines and serve's answers spell it alike.
type Explanation struct {
	Method string `json:"method"`
	// Options are the method's non-default settings as in a --method
	// spec ("steps=64").
	Options []string `json:"options,omitempty"`
	Class   int      `json:"class"`
	Label   string   `json:"label"`
	Rank    int      `json:"rank"`
	Score   float32  `json:"score"`
}

// Map is one explanation map of an image in a results line: what it
// explains and the files it was written to.
type Map struct {
	Explanation
	Overlay string `json:"overlay,omitempty"`
	Map16   string `json:"map16,omitempty"`
	NPY     string `json:"npy,omitempty"`
	// Flat: the map has no signal (explainer.Map.Flat); its files show
	// rounding noise or zeros.
	Flat bool `json:"flat,omitempty"`
	// Kind is what the map holds when it is not a map of regions:
	// "gradient" (per-pixel gradient magnitudes, drawn as a gray image) or
	// "signed" (a signed attribution, drawn red for and blue against);
	// empty for class-activation maps (explainer.MapKind).
	Kind string `json:"kind,omitempty"`
	// Zero is where a signed map's 0 lies on its [0,1] scale (the map16
	// PNG's 0..65535): values above count for the target, below against;
	// omitted when 0 (maps that are never negative).
	Zero float32 `json:"zero,omitempty"`
	// Concepts are a concept method's concepts (dff), each with its map
	// and labels; Overlay is then their overlay and NPY all their maps.
	Concepts []Concept `json:"concepts,omitempty"`
}

// Concept is one concept of a concept method's map (dff) in an
// image's JSON line.
type Concept struct {
	// Concept numbers the concept from 1, as its file name.
	Concept int    `json:"concept"`
	Map16   string `json:"map16,omitempty"`
	// Labels are the concept's top classes with the probability the
	// model's head gives the concept.
	Labels []Prediction `json:"labels,omitempty"`
}

// lines yields the lines of a results file held in memory, whatever
// their length (a line cut short by a crash, or a run of NULs a power cut
// left, is one bad line, never the end of the file); the last line may
// lack its newline. Empty lines are skipped.
func lines(data []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for len(data) > 0 {
			line := data
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				line, data = data[:i], data[i+1:]
			} else {
				data = nil
			}
			if len(line) == 0 {
				continue
			}
			if !yield(line) {
				return
			}
		}
	}
}
