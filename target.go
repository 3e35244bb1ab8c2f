package tfcam

import (
	"context"
	"errors"
	"fmt"
	"image"
	"strconv"
	"strings"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/internal/npy"
	"github.com/tfcam/tfcam/tfgraph"
)

// Target is what the explained scores are, as `--target` and serve's
// "target" say it: the model's class scores (the zero Target), a
// segmentation region, a regression output, an embedding's similarity to
// a reference, or a contrast between two classes. ParseTarget reads it
// before the model loads; Objective resolves it on the model (a
// reference image's embedding needs the model).
type Target struct {
	kind     string // "", region, regression, embedding, contrast
	maskFile string // region: "" for the predicted mask
	sign     int
	ref      string // embedding: .npy vector or an image file
	layer    string
	contrast int
}

// IsClass reports whether t is the model's class scores.
func (t Target) IsClass() bool { return t.kind == "" }

// String is t as a spec ParseTarget reads back: "class",
// "embedding:ref=cat.png", "region:mask=m.npy", "contrast:class=3".
func (t Target) String() string {
	switch t.kind {
	case "":
		return "class"
	case "region":
		if t.maskFile != "" {
			return "region:mask=" + t.maskFile
		}
		return "region"
	case "regression":
		if t.sign < 0 {
			return "regression:sign=-1"
		}
		return "regression"
	case "embedding":
		s := "embedding:ref=" + t.ref
		if t.layer != "" {
			s += ":layer=" + t.layer
		}
		return s
	case "contrast":
		return fmt.Sprintf("contrast:class=%d", t.contrast)
	}
	return t.kind
}

// Kind is t's kind as written: "" (class scores), region, regression,
// embedding or contrast.
func (t Target) Kind() string { return t.kind }

// ErrTarget is wrapped by the errors of a target that cannot be used as
// written: a bad spec, an unreadable mask or reference.
var ErrTarget = errors.New("target")

// ParseTarget parses a target spec: class, region[:mask=predicted|FILE],
// regression[:sign=-1], embedding:ref=FILE.npy|IMAGE[:layer=NAME],
// contrast:class=D.
func ParseTarget(spec string) (Target, error) {
	bad := func(why string) (Target, error) {
		return Target{}, fmt.Errorf("%w %q: %s", ErrTarget, spec, why)
	}
	parts := strings.Split(spec, ":")
	t := Target{kind: strings.ToLower(strings.TrimSpace(parts[0])), sign: 1}
	opts := map[string]string{}
	for _, kv := range parts[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return bad(fmt.Sprintf("option %q: want key=value", kv))
		}
		opts[strings.ToLower(k)] = v
	}
	allow := func(keys ...string) error {
		for k := range opts {
			found := false
			for _, a := range keys {
				found = found || a == k
			}
			if !found {
				return fmt.Errorf("%w %q: unknown option %q (%s takes: %s)", ErrTarget, spec, k, t.kind, strings.Join(keys, ", "))
			}
		}
		return nil
	}
	var err error
	switch t.kind {
	case "", "class":
		t.kind = ""
		err = allow()
	case "region":
		err = allow("mask")
		if m := opts["mask"]; m != "" && m != "predicted" {
			t.maskFile = m
		}
	case "regression":
		err = allow("sign")
		if s, ok := opts["sign"]; ok {
			switch s {
			case "1", "+1":
			case "-1":
				t.sign = -1
			default:
				return bad("sign: want 1 or -1")
			}
		}
	case "embedding":
		if err = allow("ref", "layer"); err != nil {
			return t, err
		}
		t.ref, t.layer = opts["ref"], opts["layer"]
		if t.ref == "" {
			return bad("embedding needs ref=FILE.npy (a vector) or ref=IMAGE (the reference image)")
		}
	case "contrast":
		if err = allow("class"); err != nil {
			return t, err
		}
		d, perr := strconv.Atoi(opts["class"])
		if perr != nil || d < 0 {
			return bad("contrast needs class=D, the contrast class index (0 or more)")
		}
		t.contrast = d
	default:
		return bad("unknown target; want class, region, regression, embedding or contrast")
	}
	return t, err
}

// Objective resolves t on model m; the zero Target is the class scores
// (a nil Objective: explainer.ClassScores). A reference image is decoded as m's inputs are.
func (t Target) Objective(ctx context.Context, m *Model) (explainer.Objective, error) {
	switch t.kind {
	case "region":
		if t.maskFile == "" {
			return explainer.Region(), nil
		}
		mask, h, w, err := readMask(t.maskFile)
		if err != nil {
			return nil, fmt.Errorf("%w region:mask=%s: %v", ErrTarget, t.maskFile, err)
		}
		return explainer.RegionMask(mask, h, w), nil
	case "regression":
		return explainer.Regression(t.sign), nil
	case "contrast":
		return explainer.Contrast(t.contrast), nil
	case "embedding":
		if strings.HasSuffix(strings.ToLower(t.ref), ".npy") {
			a, err := npy.ReadFile(t.ref)
			if err != nil || a.F32 == nil {
				return nil, fmt.Errorf("%w embedding:ref=%s: want a float32 .npy vector (%v)", ErrTarget, t.ref, err)
			}
			return explainer.Embedding(a.F32, t.layer), nil
		}
		dec, err := m.Decoder(0)
		if err != nil {
			return nil, err
		}
		defer dec.Close()
		data, err := imagefile.ReadFile(t.ref, 256<<20)
		if err != nil {
			return nil, fmt.Errorf("%w embedding:ref=%s: %v", ErrTarget, t.ref, err)
		}
		img, err := dec.Decode(ctx, data, t.ref)
		if err != nil {
			return nil, fmt.Errorf("%w embedding:ref=%s: %v", ErrTarget, t.ref, err)
		}
		img.Release()
		emb, err := explainer.EmbeddingOf(ctx, m.TF, t.layer, explainer.Batch{Pixels: img.Pixels, N: 1})
		if err != nil {
			return nil, fmt.Errorf("target embedding:ref=%s: %w", t.ref, err)
		}
		return explainer.Embedding(emb[0], t.layer), nil
	}
	return nil, nil
}

// readMask reads a region mask: a 2-D .npy array (nonzero counts) or an
// image (a pixel counts where any channel is nonzero).
func readMask(path string) ([]float32, int, int, error) {
	if strings.HasSuffix(strings.ToLower(path), ".npy") {
		a, err := npy.ReadFile(path)
		if err != nil {
			return nil, 0, 0, err
		}
		if len(a.Shape) != 2 || a.F32 == nil {
			return nil, 0, 0, fmt.Errorf("want a 2-D float32 array [H,W], got shape %v", a.Shape)
		}
		return a.F32, a.Shape[0], a.Shape[1], nil
	}
	img, err := imagefile.Decode(path)
	if err != nil {
		return nil, 0, 0, err
	}
	return maskOf(img)
}

// maskOf is 1 where any channel of img is nonzero.
func maskOf(img image.Image) ([]float32, int, int, error) {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	out := make([]float32, h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			if r|g|bl != 0 {
				out[y*w+x] = 1
			}
		}
	}
	return out, h, w, nil
}

// Labeler returns how the records of explanations by e name a column of
// the explained scores: the class's label under the class scores; under
// a contrast "A − D" (the explained class against the contrast class);
// under any other target the target and the column ("embedding:… column
// 0"), never a class name its scores are not about.
func (m *Model) Labeler(e *explainer.Explainer) func(col int) string {
	ob := e.Objective()
	if ob.IsClass() {
		return m.Preset.Label
	}
	var d int
	if _, err := fmt.Sscanf(ob.String(), "contrast:class=%d", &d); err == nil {
		return func(c int) string { return m.Preset.Label(c) + " − " + m.Preset.Label(d) }
	}
	return func(c int) string { return fmt.Sprintf("%s column %d", ob, c) }
}

// ScoreNames say what the scores of e's results are: its predictions'
// (the model's output under the class scores, else the target's score)
// and its maps' (the explained logit or probability, else the target's
// score).
func ScoreNames(e *explainer.Explainer) (predictions, maps string) {
	if !e.Objective().IsClass() {
		return "target score", "target score"
	}
	if e.Config().Score == tfgraph.Probabilities {
		return "model output", "probability"
	}
	return "model output", "logit"
}
