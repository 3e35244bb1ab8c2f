package render_test

import (
	"fmt"
	"image"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/tfcam/tfcam/render"
)

func ExampleParseColormap() {
	cm, err := render.ParseColormap("Viridis")
	fmt.Println(cm, err)
	_, err = render.ParseColormap("hot")
	fmt.Println(err)
	// Output:
	// viridis <nil>
	// render: unknown colormap "hot" (want one of jet, turbo, viridis)
}

func ExampleColormap_Color() {
	fmt.Println(render.Jet.Color(0), render.Jet.Color(1))
	fmt.Println(render.Viridis.Color(0), render.Viridis.Color(2)) // clamped
	// Output:
	// {0 0 128 255} {128 0 0 255}
	// {68 1 84 255} {253 231 37 255}
}

func ExampleOverlay() {
	// A gray 640×480 photo and a 2×2 map, hot in its top-right cell.
	photo := image.NewGray(image.Rect(0, 0, 640, 480))
	for i := range photo.Pix {
		photo.Pix[i] = 128
	}
	m := []float32{
		0, 1,
		0, 0,
	}
	out, err := render.Overlay(photo, m, 2, 2, render.Jet, 0.5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.Bounds())
	fmt.Println(out.NRGBAAt(600, 20), out.NRGBAAt(20, 460)) // hot, cold
	// Output:
	// (0,0)-(640,480)
	// {128 64 64 255} {64 64 128 255}
}

func ExampleWriteGallery() {
	dir, err := os.MkdirTemp("", "gallery")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	heat, err := render.Heatmap([]float32{0, 0.5, 1, 0.5}, 2, 2, render.Turbo)
	if err != nil {
		log.Fatal(err)
	}
	if err := render.WritePNG(filepath.Join(dir, "gradcam", "cat.png"), heat); err != nil {
		log.Fatal(err)
	}
	var images []render.GalleryImage
	for _, name := range []string{"cat.jpg", "dog.jpg", "owl.jpg"} {
		images = append(images, render.GalleryImage{
			Input:       name,
			Original:    filepath.Join("inputs", name),
			Predictions: []render.GalleryPrediction{{Label: "tabby", Score: 0.91}},
			Maps:        []render.GalleryMap{{Method: "gradcam", Class: "tabby", Overlay: filepath.Join("gradcam", "cat.png")}},
		})
	}
	if err := render.WriteGallery(dir, "tfcam run", images, 2); err != nil {
		log.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.html"))
	for _, p := range pages {
		fmt.Println(filepath.Base(p))
	}
	// Output:
	// index-2.html
	// index.html
}

func ExampleWriteFileAtomic() {
	dir, err := os.MkdirTemp("", "atomic")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	path := filepath.Join(dir, "maps", "scores.csv")
	err = render.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, "image,class,score")
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fmt.Print(string(b))
	// Output:
	// image,class,score
}

func ExampleGray16() {
	g, err := render.Gray16([]float32{0, 0.5, 1, 2}, 2, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Gray16At(0, 0), g.Gray16At(1, 0), g.Gray16At(0, 1), g.Gray16At(1, 1))
	// Output:
	// {0} {32768} {65535} {65535}
}
