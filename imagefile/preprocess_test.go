package imagefile

import (
	"image"
	"image/color"
	"math"
	"strings"
	"testing"
)

func TestParsePreprocess(t *testing.T) {
	tests := []struct {
		in      string
		want    Preprocess
		wantErr bool
	}{
		{"raw", Raw, false},
		{"unit", Unit, false},
		{"tf", TF, false},
		{"caffe", Caffe, false},
		{"torch", Torch, false},
		{" Caffe\n", Caffe, false},
		{"TF", TF, false},
		{"", "", true},
		{"imagenet", "", true},
		{"tf2", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePreprocess(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParsePreprocess(%q) = %q, want error", tt.in, got)
				}
				for _, p := range Presets() {
					if !strings.Contains(err.Error(), string(p)) {
						t.Errorf("error does not list preset %q: %v", p, err)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParsePreprocess(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestPresetValues pushes known pixels through ToTensor and checks every
// preset's documented formula.
func TestPresetValues(t *testing.T) {
	tests := []struct {
		name string
		px   color.NRGBA
		p    Preprocess
		c    int
		want []float32
	}{
		{"raw red", red, Raw, 3, []float32{255, 0, 0}},
		{"unit red", red, Unit, 3, []float32{1, 0, 0}},
		{"tf red", red, TF, 3, []float32{1, -1, -1}},
		{"caffe red is BGR", red, Caffe, 3, []float32{0 - 103.939, 0 - 116.779, 255 - 123.68}},
		{"caffe blue is BGR", blue, Caffe, 3, []float32{255 - 103.939, 0 - 116.779, 0 - 123.68}},
		{"torch red", red, Torch, 3, []float32{(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225}},
		{"torch mid grey", color.NRGBA{128, 128, 128, 255}, Torch, 3, []float32{
			(128.0/255 - 0.485) / 0.229, (128.0/255 - 0.456) / 0.224, (128.0/255 - 0.406) / 0.225}},
		{"tf black", color.NRGBA{0, 0, 0, 255}, TF, 3, []float32{-1, -1, -1}},
		{"raw gray of red", red, Raw, 1, []float32{255 * 0.299}},
		{"raw gray of green", green, Raw, 1, []float32{255 * 0.587}},
		{"unit gray of white", color.NRGBA{255, 255, 255, 255}, Unit, 1, []float32{1}},
		{"tf gray of grey", color.NRGBA{51, 51, 51, 255}, TF, 1, []float32{51/127.5 - 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
			for i := 0; i < len(img.Pix); i += 4 {
				img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = tt.px.R, tt.px.G, tt.px.B, tt.px.A
			}
			dst := make([]float32, 2*2*tt.c)
			if err := ToTensor(img, 2, 2, tt.c, tt.p, dst); err != nil {
				t.Fatalf("ToTensor: %v", err)
			}
			for i, v := range dst {
				if want := tt.want[i%tt.c]; math.Abs(float64(v-want)) > 2e-3 {
					t.Fatalf("dst[%d] = %v, want %v (pixel %v)", i, v, want, dst[:tt.c])
				}
			}
		})
	}
}

func TestPresetGrayRefusesImageNetStats(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	for _, p := range []Preprocess{Caffe, Torch} {
		err := ToTensor(img, 2, 2, 1, p, make([]float32, 4))
		if err == nil || !strings.Contains(err.Error(), "3 channels") {
			t.Errorf("ToTensor(c=1, %s) = %v, want an error asking for 3 channels", p, err)
		}
	}
}
