package inputs_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/tfcam/tfcam/inputs"
)

// Expand what a user names into images with output keys, and keep the
// ones of one shard of a fanned-out job. Paths that cannot be used are
// reported and skipped; the rest go on.
func ExampleExpand() {
	dir, err := os.MkdirTemp("", "tfcam-inputs-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"photos/cat.jpg", "photos/sub/dog.PNG", "photos/notes.txt", "photos/index.html.png", "100%.jpg"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("image bytes"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	args := []string{filepath.Join(dir, "photos"), filepath.Join(dir, "100%.jpg"), filepath.Join(dir, "missing.jpg")}
	images, err := inputs.Expand(context.Background(), args, nil, func(path string, err error) {
		fmt.Printf("skipped %s: %v\n", filepath.Base(path), err)
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range images {
		fmt.Printf("%-22s → %s\n", in.Key, filepath.ToSlash(inputs.OutputDir("out", in.Key)))
	}
	// Shards split by key: every image belongs to exactly one of them,
	// whatever else a run is given.
	owners := map[string]int{}
	for i := range 3 {
		for _, in := range images {
			if (inputs.Shard{Index: i, Count: 3}).Owns(in.Key) {
				owners[in.Key]++
			}
		}
	}
	fmt.Println("owners per image:", owners)
	// Output:
	// skipped missing.jpg: no such file or directory
	// 100%25.jpg             → out/100%25.jpg
	// cat.jpg                → out/cat.jpg
	// index.html.png         → out/index.html.png
	// sub/dog.PNG            → out/sub/dog.PNG
	// owners per image: map[100%25.jpg:1 cat.jpg:1 index.html.png:1 sub/dog.PNG:1]
}
