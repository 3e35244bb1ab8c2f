package imagefile

import (
	"errors"
	"fmt"
	"strings"
)

// Preprocess names a pixel preprocessing preset: how 8-bit RGB pixels map
// to the float values a model was trained on. Every preset is a per-channel
// affine map, value = pixel*scale + bias, optionally in BGR order.
//
// Which one a model wants follows its training code; for
// tf.keras.applications: tf for MobileNet, MobileNetV2, InceptionV3,
// Xception, InceptionResNetV2, NASNet and ResNetV2; caffe for VGG16, VGG19
// and ResNet50/101/152; torch for DenseNet; raw for EfficientNet, EfficientNetV2
// and ConvNeXt, which normalise inside the model.
type Preprocess string

// The presets. Values are for channels-last RGB input unless noted.
const (
	// Raw passes RGB values through: 0..255.
	Raw Preprocess = "raw"
	// Unit scales RGB to [0,1]: v/255.
	Unit Preprocess = "unit"
	// TF scales RGB to [-1,1]: v/127.5 - 1.
	TF Preprocess = "tf"
	// Caffe is BGR order, 0..255, minus the ImageNet channel means
	// (B 103.939, G 116.779, R 123.68).
	Caffe Preprocess = "caffe"
	// Torch is RGB scaled to [0,1], minus the ImageNet mean
	// (0.485, 0.456, 0.406), divided by the ImageNet std (0.229, 0.224, 0.225).
	Torch Preprocess = "torch"
)

// Presets returns every preset, in documentation order.
func Presets() []Preprocess { return []Preprocess{Raw, Unit, TF, Caffe, Torch} }

// presetHelp is the one-line list of presets used in errors.
const presetHelp = `raw (0..255), unit (0..1), tf (-1..1), caffe (BGR minus ImageNet means), torch (ImageNet mean/std)`

// ErrPreprocess is returned by ParsePreprocess for a name that is no
// preset.
var ErrPreprocess = errors.New("unknown preprocess preset")

// ParsePreprocess parses a preset name as written on a command line or in a
// model's preset file. Case and surrounding spaces are ignored.
func ParsePreprocess(s string) (Preprocess, error) {
	p := Preprocess(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Presets() {
		if p == known {
			return p, nil
		}
	}
	return "", fmt.Errorf("imagefile: %w %q; use one of %s", ErrPreprocess, s, presetHelp)
}

// affine is a preset resolved for a channel count: out[k] = in[k]*scale[k] +
// bias[k], where in is RGB, or BGR when bgr is set, or luminance for c = 1.
type affine struct {
	scale, bias [3]float32
	bgr         bool
}

// affine resolves p for c channels (1 or 3). Caffe and torch subtract
// per-colour ImageNet statistics, which mean nothing for one grey channel,
// so they are refused for c = 1 rather than guessed.
func (p Preprocess) affine(c int) (affine, error) {
	same := func(s, b float32) affine {
		return affine{scale: [3]float32{s, s, s}, bias: [3]float32{b, b, b}}
	}
	switch p {
	case Raw:
		return same(1, 0), nil
	case Unit:
		return same(1.0/255, 0), nil
	case TF:
		return same(1/127.5, -1), nil
	case Caffe, Torch:
		if c != 3 {
			return affine{}, fmt.Errorf("imagefile: preset %q subtracts per-colour ImageNet statistics and needs 3 channels, not %d; use raw, unit or tf for grayscale models", p, c)
		}
		if p == Caffe {
			return affine{
				scale: [3]float32{1, 1, 1},
				bias:  [3]float32{-103.939, -116.779, -123.68},
				bgr:   true,
			}, nil
		}
		mean := [3]float64{0.485, 0.456, 0.406}
		std := [3]float64{0.229, 0.224, 0.225}
		var a affine
		for k := range a.scale {
			a.scale[k] = float32(1 / (255 * std[k]))
			a.bias[k] = float32(-mean[k] / std[k])
		}
		return a, nil
	}
	return affine{}, fmt.Errorf("imagefile: unknown preprocess preset %q; use one of %s", p, presetHelp)
}
