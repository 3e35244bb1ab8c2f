package imagefile_test

import (
	"fmt"
	"image"
	"image/color"
	"log"

	"github.com/tfcam/tfcam/imagefile"
)

// Fill one 224×224 slot of a batch tensor from a file.
func ExampleDecode() {
	const w, h, c = 224, 224, 3
	batch := make([]float32, 8*h*w*c) // NHWC, 8 images
	img, err := imagefile.Decode("photo.jpg")
	if err != nil {
		log.Print(err) // e.g. imagefile: "photo.jpg": image data is truncated: ...
		return
	}
	slot := 2
	if err := imagefile.ToTensor(img, w, h, c, imagefile.Caffe, batch[slot*h*w*c:(slot+1)*h*w*c]); err != nil {
		log.Print(err)
	}
}

func ExampleToTensor() {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := 0; i < len(img.Pix); i += 4 {
		copy(img.Pix[i:], []uint8{255, 0, 0, 255}) // pure red
	}
	for _, p := range imagefile.Presets() {
		dst := make([]float32, 2*2*3)
		if err := imagefile.ToTensor(img, 2, 2, 3, p, dst); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-5s %.3f\n", p, dst[:3])
	}
	// Output:
	// raw   [255.000 0.000 0.000]
	// unit  [1.000 0.000 0.000]
	// tf    [1.000 -1.000 -1.000]
	// caffe [-103.939 -116.779 131.320]
	// torch [2.249 -2.036 -1.804]
}

func ExampleToTensor_transparency() {
	// Fully transparent pixels read as white, whatever colour they store.
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.SetNRGBA(0, 0, color.NRGBA{0, 0, 0, 0})
	dst := make([]float32, 3)
	if err := imagefile.ToTensor(img, 1, 1, 3, imagefile.Unit, dst); err != nil {
		log.Fatal(err)
	}
	fmt.Println(dst)
	// Output: [1 1 1]
}

func ExampleParsePreprocess() {
	p, err := imagefile.ParsePreprocess("Torch")
	fmt.Println(p, err)
	_, err = imagefile.ParsePreprocess("imagenet")
	fmt.Println(err)
	// Output:
	// torch <nil>
	// imagefile: unknown preprocess preset "imagenet"; use one of raw (0..255), unit (0..1), tf (-1..1), caffe (BGR minus ImageNet means), torch (ImageNet mean/std)
}
