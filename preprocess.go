package tfcam

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/storage"
)

// PreprocessCheck is what CheckPreprocess found.
type PreprocessCheck struct {
	// Images is how many images were tried.
	Images int
	// Confidence is the model's mean top-1 probability over them under
	// each preset (a softmax of its outputs when they are not
	// probabilities).
	Confidence map[imagefile.Preprocess]float64
	// Better is the preset under which the model is clearly more confident
	// than under the one it is fed (at least BetterBy more, on average),
	// else "".
	Better imagefile.Preprocess
}

// BetterBy is the gain in mean top-1 probability that makes
// CheckPreprocess name another preset: far above the few hundredths that
// the same pixels scaled a little differently move it, and well below what
// a wrong preset costs (the pretrained EfficientNet-Lite0 fed [0,1] instead
// of [−1,1]: 0.58 instead of 0.88 on the demo's espresso).
const BetterBy = 0.1

// String says what the check found, in a sentence for a log.
func (c PreprocessCheck) String() string {
	if c.Better == "" {
		return fmt.Sprintf("no preset suits the model clearly better on %d images", c.Images)
	}
	return fmt.Sprintf("on %d images the model is far more confident with preprocess %s (mean top-1 %.2f) than with the one it is fed (%.2f)",
		c.Images, c.Better, c.Confidence[c.Better], c.Confidence[""])
}

// CheckPreprocess runs a classifier on up to 4 of the images (local files;
// the others are skipped) under every preprocessing preset and reports
// whether one makes it clearly more confident than m.Preprocess: a sign
// that the model expects other pixel values than it is fed. It is meant
// for a model whose preprocessing nothing states (PreprocessFrom the
// default); a model that is not a classifier ([N, classes] output) is not
// checked. Cost: 5 forward passes per image tried.
func (m *Model) CheckPreprocess(ctx context.Context, images []inputs.Input) (PreprocessCheck, error) {
	res := PreprocessCheck{Confidence: map[imagefile.Preprocess]float64{}}
	sh := m.TF.Output.Shape
	if len(sh) != 2 || sh[1] < 2 {
		return res, nil
	}
	dec, err := m.Decoder(0)
	if err != nil {
		return res, err
	}
	defer dec.Close()
	var pixels []float32
	for _, in := range images {
		if res.Images == 4 {
			break
		}
		if storage.IsURL(in.Path) {
			continue
		}
		data, err := os.ReadFile(in.Path)
		if err != nil {
			continue
		}
		d, err := dec.Decode(ctx, data, in.Path)
		if err != nil {
			continue
		}
		pixels = append(pixels, d.Pixels...)
		d.Release()
		res.Images++
	}
	if res.Images == 0 {
		return res, nil
	}
	h, w, c := m.TF.InputSize()
	from, err := affineOf(m.Preprocess, c)
	if err != nil {
		return res, err
	}
	var best float64
	for _, p := range imagefile.Presets() {
		to, err := affineOf(p, c)
		if err != nil {
			continue // caffe and torch on one channel
		}
		batch := make([]float32, len(pixels))
		var rgb [3]float32
		for i := range h * w * res.Images {
			px := pixels[i*c : (i+1)*c]
			for k := range c {
				rgb[k] = from.raw(px, k)
			}
			for k := range c {
				batch[i*c+k] = to.apply(k, rgb)
			}
		}
		out, classes, err := m.TF.Predict(ctx, batch, res.Images)
		if err != nil {
			return res, err
		}
		var sum float64
		for i := range res.Images {
			sum += topProbability(out[i*classes : (i+1)*classes])
		}
		conf := sum / float64(res.Images)
		res.Confidence[p] = conf
		if p == m.Preprocess {
			res.Confidence[""] = conf
		}
		if conf > best {
			best, res.Better = conf, p
		}
	}
	if res.Better == m.Preprocess || best < res.Confidence[m.Preprocess]+BetterBy {
		res.Better = ""
	}
	return res, nil
}

// affine is a preset as per-channel scale and bias on 0..255 values, in
// RGB order or BGR.
type affine struct {
	scale, bias [3]float32
	bgr         bool
}

func affineOf(p imagefile.Preprocess, c int) (affine, error) {
	s, b, bgr, err := p.Affine(c)
	return affine{s, b, bgr}, err
}

// raw is the 0..255 value of RGB channel k of a model pixel px made by a.
func (a affine) raw(px []float32, k int) float32 {
	j := k
	if a.bgr && len(px) == 3 {
		j = 2 - k
	}
	return (px[j] - a.bias[j]) / a.scale[j]
}

// apply is model channel k of the pixel with RGB values rgb (0..255).
func (a affine) apply(k int, rgb [3]float32) float32 {
	j := k
	if a.bgr {
		j = 2 - k
	}
	return a.scale[k]*rgb[j] + a.bias[k]
}

// topProbability is the largest of scores as a probability: the scores
// themselves when they are one (non-negative, summing to 1), else their
// softmax's.
func topProbability(scores []float32) float64 {
	var sum float64
	probs := true
	for _, s := range scores {
		sum += float64(s)
		probs = probs && s >= 0
	}
	top := float64(slices.Max(scores))
	if probs && math.Abs(sum-1) < 1e-3 {
		return top
	}
	var z float64
	for _, s := range scores {
		z += math.Exp(float64(s) - top)
	}
	return 1 / z
}
