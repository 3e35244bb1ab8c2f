package main

import (
	"context"
	"fmt"
	"image"
	"strconv"
	"strings"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/internal/npy"
	"github.com/tfcam/tfcam/tfgraph"
	"github.com/tfcam/tfcam/tfimage"
)

const targetUsage = `what the explained scores are (--class picks their column): class (the model's class scores), ` +
	`region[:mask=predicted|FILE] (segmentation output [N,H,W,C]: class c's score summed over the pixels the model assigns to c, or over a PNG/.npy mask; top1 is the class covering most pixels), ` +
	`regression[:sign=-1] (single output [N] or [N,1]: class 0 the output, class 1 its negative; sign=-1 explains the negative by default), ` +
	`embedding:ref=FILE.npy|IMAGE[:layer=NAME] (cosine similarity of the output, or of layer NAME, to a reference vector or to the embedding of a reference image; one class), ` +
	`contrast:class=D (class c's logit minus class D's). Choose the model output with --output`

// targetSpec is --target, parsed before the model loads; objective
// resolves it on the model (a reference image's embedding needs it).
type targetSpec struct {
	kind     string // "", region, regression, embedding, contrast
	maskFile string // region: "" for the predicted mask
	sign     int
	ref      string // embedding: .npy vector or an image file
	layer    string
	contrast int
}

// parseTarget parses --target.
func parseTarget(spec string) (targetSpec, error) {
	bad := func(why string) (targetSpec, error) {
		return targetSpec{}, usageError(fmt.Sprintf("--target %q: %s", spec, why))
	}
	parts := strings.Split(spec, ":")
	t := targetSpec{kind: strings.ToLower(strings.TrimSpace(parts[0])), sign: 1}
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
				return usageError(fmt.Sprintf("--target %q: unknown option %q (%s takes: %s)", spec, k, t.kind, strings.Join(keys, ", ")))
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

// objective resolves the spec on model m (pre: the pixel preset, for a
// reference image).
func (t targetSpec) objective(ctx context.Context, m *tfgraph.Model, pre imagefile.Preprocess) (explainer.Objective, error) {
	switch t.kind {
	case "region":
		if t.maskFile == "" {
			return explainer.Region(), nil
		}
		mask, h, w, err := readMask(t.maskFile)
		if err != nil {
			return explainer.Objective{}, usageError(fmt.Sprintf("--target region:mask=%s: %v", t.maskFile, err))
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
				return explainer.Objective{}, usageError(fmt.Sprintf("--target embedding:ref=%s: want a float32 .npy vector (%v)", t.ref, err))
			}
			return explainer.Embedding(a.F32, t.layer), nil
		}
		h, w, c := m.InputSize()
		dec, err := tfimage.NewDecoder(tfimage.DecodeOptions{Width: w, Height: h, Channels: c, Preprocess: pre})
		if err != nil {
			return explainer.Objective{}, err
		}
		defer dec.Close()
		data, err := imagefile.ReadFile(t.ref, 256<<20)
		if err != nil {
			return explainer.Objective{}, usageError(fmt.Sprintf("--target embedding:ref=%s: %v", t.ref, err))
		}
		img, err := dec.Decode(ctx, data, t.ref)
		if err != nil {
			return explainer.Objective{}, usageError(fmt.Sprintf("--target embedding:ref=%s: %v", t.ref, err))
		}
		img.Release()
		emb, err := explainer.EmbeddingOf(ctx, m, t.layer, explainer.Batch{Pixels: img.Pixels, N: 1})
		if err != nil {
			return explainer.Objective{}, fmt.Errorf("--target embedding:ref=%s: %w", t.ref, err)
		}
		return explainer.Embedding(emb[0], t.layer), nil
	}
	return explainer.Objective{}, nil
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
