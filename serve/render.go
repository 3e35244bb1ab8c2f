package serve

import (
	"context"
	"encoding/base64"
	"sync"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/tfimage"
)

// maxRenderers bounds the renderers a model keeps: one per number of maps
// per image and choice of encodings asked for, each a small graph in its
// own session. Beyond it, maps are rendered one per run.
const maxRenderers = 16

// renderers render all of an image's maps in one TensorFlow run, as
// `tfcam explain` does: a Renderer's graph has one output per map, so
// there is one Renderer per map count, made on first use.
type renderers struct {
	base tfimage.RenderOptions // size and overlay style; Maps, Map16, Overlay set per key

	mu    sync.Mutex
	byKey map[renderKey]*tfimage.Renderer
}

type renderKey struct {
	maps           int
	map16, overlay bool
}

// get returns the renderer of n maps with the encodings asked for, or,
// when the model has maxRenderers already, the one of a single map (the
// caller then renders map by map), with the number of maps it renders.
func (r *renderers) get(n int, map16, overlay bool) (*tfimage.Renderer, int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := renderKey{n, map16, overlay}
	if rd, ok := r.byKey[k]; ok {
		return rd, n, nil
	}
	if len(r.byKey) >= maxRenderers {
		k.maps = 1
		if rd, ok := r.byKey[k]; ok {
			return rd, 1, nil
		}
	}
	o := r.base
	o.Maps, o.Map16, o.Overlay = k.maps, map16, overlay
	rd, err := tfimage.NewRenderer(o)
	if err != nil {
		return nil, 0, err
	}
	if r.byKey == nil {
		r.byKey = map[renderKey]*tfimage.Renderer{}
	}
	r.byKey[k] = rd
	return rd, k.maps, nil
}

// close frees every renderer.
func (r *renderers) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rd := range r.byKey {
		rd.Close()
	}
	r.byKey = nil
}

// render encodes maps (one image's, in order) as st asks into infos:
// all in one run when the renderer of that many maps exists or can be
// made, else one run per map.
func (r *renderers) render(ctx context.Context, maps [][]float32, styles []tfimage.MapStyle, view *tf.Tensor, st settings, infos []mapInfo) error {
	rd, per, err := r.get(len(maps), st.map16, st.overlay)
	if err != nil {
		return err
	}
	if !st.overlay {
		view = nil
	}
	for i := 0; i < len(maps); i += per {
		f, err := rd.Render(ctx, view, maps[i:i+per], styles[i:i+per])
		if err != nil {
			return err
		}
		for j := range per {
			if st.map16 {
				infos[i+j].Map16 = &binary{B64: base64.StdEncoding.EncodeToString(f.Map16[j]), ContentType: "image/png"}
			}
			if st.overlay {
				infos[i+j].Overlay = &binary{B64: base64.StdEncoding.EncodeToString(f.Overlays[j]), ContentType: "image/jpeg"}
			}
		}
	}
	return nil
}
