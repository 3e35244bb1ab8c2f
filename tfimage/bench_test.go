package tfimage

import (
	"context"
	"fmt"
	"testing"

	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/render"
)

// BenchmarkDecode is one 1024×768 JPEG through Decode, per view size.
func BenchmarkDecode(b *testing.B) {
	data := encodeAs(b, "jpeg", scene(1024, 768, false))
	for _, view := range []int{0, 512, 1024} {
		b.Run(fmt.Sprintf("view=%d", view), func(b *testing.B) {
			d, err := NewDecoder(DecodeOptions{Width: 224, Height: 224, Channels: 3, Preprocess: imagefile.Unit, ViewSize: view})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			for b.Loop() {
				dec, err := d.Decode(context.Background(), data, "bench")
				if err != nil {
					b.Fatal(err)
				}
				dec.Release()
			}
		})
	}
}

// BenchmarkRender is one map over a 1024×768 view: JPEG overlay, 16-bit
// map and a 512 px thumbnail.
func BenchmarkRender(b *testing.B) {
	for _, view := range []int{512, 1024} {
		b.Run(fmt.Sprintf("view=%d", view), func(b *testing.B) {
			d, _ := NewDecoder(DecodeOptions{Width: 224, Height: 224, Channels: 3, Preprocess: imagefile.Unit, ViewSize: view})
			defer d.Close()
			dec, err := d.Decode(context.Background(), encodeAs(b, "jpeg", scene(1024, 768, false)), "bench")
			if err != nil {
				b.Fatal(err)
			}
			defer dec.Release()
			r, err := NewRenderer(RenderOptions{Maps: 1, MapWidth: 224, MapHeight: 224, Overlay: true, Colormap: render.Jet, Alpha: 0.5, Quality: 90, Map16: true, Thumbnail: 512})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			maps := testMaps(1, 224, 224)
			for b.Loop() {
				if _, err := r.Render(context.Background(), dec.View, maps, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
