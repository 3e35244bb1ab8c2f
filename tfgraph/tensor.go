package tfgraph

import (
	"bytes"
	"fmt"
	"unsafe"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/cgo"
)

// NewFloat32 copies data into a new float32 tensor of the given shape. It is
// a single memcpy, unlike graft's NewTensor on nested slices.
func NewFloat32(data []float32, shape ...int64) (*tf.Tensor, error) {
	return newTensor(tf.Float, data, shape)
}

// NewInt32 copies data into a new int32 tensor of the given shape.
func NewInt32(data []int32, shape ...int64) (*tf.Tensor, error) {
	return newTensor(tf.Int32, data, shape)
}

// Float32s copies a float32 tensor's values into a new flat slice.
func Float32s(t *tf.Tensor) ([]float32, error) { return values[float32](t, tf.Float) }

// Int32s copies an int32 tensor's values into a new flat slice.
func Int32s(t *tf.Tensor) ([]int32, error) { return values[int32](t, tf.Int32) }

func newTensor[T float32 | int32](dt tf.DataType, data []T, shape []int64) (*tf.Tensor, error) {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	if n != int64(len(data)) {
		return nil, fmt.Errorf("tfgraph: shape %v holds %d values, got %d", shape, n, len(data))
	}
	var raw []byte
	if len(data) > 0 {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
	}
	return tf.ReadTensor(dt, shape, bytes.NewReader(raw))
}

func values[T float32 | int32](t *tf.Tensor, dt tf.DataType) ([]T, error) {
	if t.DataType() != dt {
		return nil, fmt.Errorf("tfgraph: tensor is %v, want %v", t.DataType(), dt)
	}
	raw := cgo.TensorData(t)
	out := make([]T, len(raw)/4)
	if len(out) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(raw)), raw)
	}
	return out, nil
}
