package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/jpeg"
	"testing"
)

// TestRenderAllMapsInOneRun: an image's maps (methods × classes) are
// rendered by one renderer of that many maps, and each map's files are
// its own: a renderer of one map gives the same bytes for each.
func TestRenderAllMapsInOneRun(t *testing.T) {
	s := startServer(t, Options{MaxBatch: 4}, nil)
	imgs := shapesImages(t, 1)
	a, err := post(t, context.Background(), s.url+"/v1/models/shapes:explain", "application/json",
		explainJSON(imgs, map[string]any{"method": "gradcam,hirescam", "class": "top2", "overlay": true}))
	if err != nil || a.code != 200 {
		t.Fatalf("explain: %v %d %s", err, a.code, a.body)
	}
	maps := a.resp.Predictions[0].Maps
	if len(maps) != 4 {
		t.Fatalf("%d maps, want 4 (2 methods × top2)", len(maps))
	}
	m := s.models["shapes"]
	m.rend.mu.Lock()
	_, ok := m.rend.byKey[renderKey{4, true, true}]
	m.rend.mu.Unlock()
	if !ok {
		t.Errorf("no renderer of 4 maps: the maps were not rendered in one run")
	}
	// Each map is the one its own request gets (one method, its class
	// given explicitly, rendered alone): the run's outputs are in order.
	for i, mi := range maps {
		b, err := post(t, context.Background(), s.url+"/v1/models/shapes:explain", "application/json",
			explainJSON(imgs, map[string]any{"method": mi.Method, "class": mi.Class}))
		if err != nil || b.code != 200 || len(b.resp.Predictions[0].Maps) != 1 {
			t.Fatalf("map %d alone: %v %d %s", i, err, b.code, b.body)
		}
		if alone := b.resp.Predictions[0].Maps[0]; alone.Map16.B64 != mi.Map16.B64 {
			t.Errorf("map %d (%s, class %d) differs from the same map asked alone", i, mi.Method, mi.Class)
		}
		if mi.Overlay == nil {
			t.Fatalf("map %d has no overlay", i)
		}
		ov, _ := base64.StdEncoding.DecodeString(mi.Overlay.B64)
		if _, err := jpeg.Decode(bytes.NewReader(ov)); err != nil {
			t.Errorf("map %d: overlay is no JPEG: %v", i, err)
		}
	}
	// Maps of different classes differ: the run's outputs are not mixed
	// up. (On this model HiResCAM equals Grad-CAM: its head is global
	// average pooling and a dense layer, so the gradients are constant
	// over the grid.)
	for i := range maps {
		for j := range maps {
			if maps[i].Class != maps[j].Class && maps[i].Map16.B64 == maps[j].Map16.B64 {
				t.Errorf("maps %d and %d explain classes %d and %d with the same file", i, j, maps[i].Class, maps[j].Class)
			}
		}
	}
}
