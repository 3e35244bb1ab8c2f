package tfimage

import (
	"fmt"
	"runtime"
	"sync"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
	"google.golang.org/protobuf/proto"

	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/tfcam/tfcam/cgo"
)

// session is a CPU-only TensorFlow session over a graph that grows as new
// variants (JPEG ratio, orientation, output set) are first needed.
type session struct {
	mu    sync.Mutex // guards graph building and built
	graph *tf.Graph
	sess  *tf.Session
	built map[string]any
	n     int
}

// newSession creates the session. Each Run executes its kernels one thread
// each (intra-op 1): parallelism comes from many images at once.
func newSession() (*session, error) {
	cfg, err := proto.Marshal(&corepb.ConfigProto{
		DeviceCount:               map[string]int32{"GPU": 0},
		IntraOpParallelismThreads: 1,
		InterOpParallelismThreads: int32(runtime.GOMAXPROCS(0)),
		UsePerSessionThreads:      true,
	})
	if err != nil {
		return nil, err
	}
	g := tf.NewGraph()
	// Threads TensorFlow starts inherit the caller's signal mask: keep
	// asynchronous signals (the profiler's) off them, as tfgraph does.
	var s *tf.Session
	cgo.QuietTensorFlow()
	err = cgo.WithoutSignals(func() (err error) {
		s, err = tf.NewSession(g, &tf.SessionOptions{Config: cfg})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tfimage: creating a TensorFlow session: %w", err)
	}
	return &session{graph: g, sess: s, built: map[string]any{}}, nil
}

// variant returns the graph part named key, building it once with build.
// graft's wrappers panic when handed the output of an op that failed to
// build; that panic becomes the scope's error here.
func variant[T any](s *session, key string, build func(sc *op.Scope) (T, error)) (v T, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.built[key]; ok {
		return v.(T), nil
	}
	s.n++
	sc := op.NewScopeWithGraph(s.graph).SubScope(fmt.Sprintf("v%d", s.n))
	defer func() {
		if r := recover(); r != nil {
			var zero T
			v, err = zero, fmt.Errorf("tfimage: building %s: %v (scope: %v)", key, r, sc.Err())
		}
	}()
	v, err = build(sc)
	if err == nil {
		err = sc.Err()
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("tfimage: building %s: %w", key, err)
	}
	s.built[key] = v
	return v, nil
}

// run is one Session.Run. The caller owns (and must cgo.DeleteTensor) the
// fetched tensors; on error none are returned.
func (s *session) run(feeds map[tf.Output]*tf.Tensor, fetches []tf.Output) ([]*tf.Tensor, error) {
	var out []*tf.Tensor
	err := cgo.WithoutSignals(func() (err error) {
		out, err = s.sess.Run(feeds, fetches, nil)
		return err
	})
	if err != nil {
		cgo.DeleteTensors(out)
		return nil, err
	}
	return out, nil
}

func (s *session) close() error { return s.sess.Close() }

// ops names each op uniquely: graft's scopes do not uniquify names.
type ops struct{ s *op.Scope }

func (o ops) sc() *op.Scope                { return o.s.SubScope("op") }
func (o ops) c(v any) tf.Output            { return op.Const(o.s.SubScope("c"), v) }
func (o ops) f32(x tf.Output) tf.Output    { return op.Cast(o.sc(), x, tf.Float) }
func (o ops) mul(x, y tf.Output) tf.Output { return op.Mul(o.sc(), x, y) }
func (o ops) add(x, y tf.Output) tf.Output { return op.AddV2(o.sc(), x, y) }
func (o ops) sub(x, y tf.Output) tf.Output { return op.Sub(o.sc(), x, y) }
func (o ops) expand(x tf.Output, axis int32) tf.Output {
	return op.ExpandDims(o.sc(), x, o.c(axis))
}

// slice3 is x[..., from:to] of a [h,w,c] tensor.
func (o ops) slice3(x tf.Output, from, to int32) tf.Output {
	return op.StridedSlice(o.sc(), x, o.c([]int32{0, 0, from}), o.c([]int32{0, 0, to}), o.c([]int32{1, 1, 1}),
		op.StridedSliceBeginMask(3), op.StridedSliceEndMask(3))
}

// resize resamples a [h,w,c] float image to size (int32 [2]) with a
// triangle filter widened when shrinking (antialiased, like PIL's bilinear
// resize and imagefile.ToTensor).
func (o ops) resize(x, size tf.Output) tf.Output {
	hw := op.StridedSlice(o.sc(), op.Shape(o.sc(), x), o.c([]int32{0}), o.c([]int32{2}), o.c([]int32{1}))
	scale := op.RealDiv(o.sc(), o.f32(size), o.f32(hw))
	img := o.expand(x, 0)
	// graft has no wrapper for ScaleAndTranslate (tf.image.resize's
	// antialiased path); the C library has the op.
	out := o.sc().AddOperation(tf.OpSpec{
		Type:  "ScaleAndTranslate",
		Input: []tf.Input{img, size, scale, o.c([]float32{0, 0})},
		Attrs: map[string]any{"kernel_type": "triangle", "antialias": true},
	})
	return op.Squeeze(o.sc(), out.Output(0), op.SqueezeAxis([]int64{0}))
}

// area resamples a [h,w,c] image (any type) to size by area averaging: a
// box filter, float32 out.
func (o ops) area(x, size tf.Output) tf.Output {
	out := op.ResizeArea(o.sc(), o.expand(x, 0), size)
	return op.Squeeze(o.sc(), out, op.SqueezeAxis([]int64{0}))
}

// bilinear resamples a [h,w,c] image (any type) to size by bilinear
// interpolation at half-pixel centres, float32 out.
func (o ops) bilinear(x, size tf.Output) tf.Output {
	out := op.ResizeBilinear(o.sc(), o.expand(x, 0), size, op.ResizeBilinearHalfPixelCenters(true))
	return op.Squeeze(o.sc(), out, op.SqueezeAxis([]int64{0}))
}

// toUint8 rounds a float image to 0..255 bytes.
func (o ops) toUint8(x tf.Output) tf.Output {
	return op.Cast(o.sc(), op.ClipByValue(o.sc(), op.Round(o.sc(), x), o.c(float32(0)), o.c(float32(255))), tf.Uint8)
}
