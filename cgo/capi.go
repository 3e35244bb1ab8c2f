package cgo

// #cgo LDFLAGS: -ltensorflow
// #include <stdlib.h>
// #include "tensorflow/c/c_api.h"
import "C"

import (
	"errors"
	"runtime"
	"unsafe"

	tf "github.com/wamuir/graft/tensorflow"
)

// DeleteTensor releases t's C memory at once instead of waiting for Go's
// garbage collector, which does not see TensorFlow's allocations and so lets
// a long batch loop grow. t must not be used afterwards; nil is ignored and a
// tensor already deleted is not deleted twice. It reaches graft's private C
// pointer through graftTensor (graft_layout.go).
func DeleteTensor(t *tf.Tensor) {
	if t == nil {
		return
	}
	g := (*graftTensor)(unsafe.Pointer(t))
	if g.c == nil {
		return
	}
	runtime.SetFinalizer(t, nil)
	C.TF_DeleteTensor(g.c)
	g.c = nil
}

// DeleteTensors calls DeleteTensor on each element.
func DeleteTensors(ts []*tf.Tensor) {
	for _, t := range ts {
		DeleteTensor(t)
	}
}

// TensorData returns a view of t's bytes in C memory, valid until t is
// deleted. It lets callers copy results straight into their own slices.
func TensorData(t *tf.Tensor) []byte {
	g := (*graftTensor)(unsafe.Pointer(t))
	if g.c == nil {
		return nil
	}
	p := C.TF_TensorData(g.c)
	n := int(C.TF_TensorByteSize(g.c))
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(p), n)
}

// AllOpList returns the serialized tensorflow.OpList of every op registered
// in the loaded TensorFlow library.
func AllOpList() ([]byte, error) {
	buf := C.TF_GetAllOpList()
	if buf == nil {
		return nil, errors.New("tfcam/cgo: TF_GetAllOpList returned nothing")
	}
	defer C.TF_DeleteBuffer(buf)
	return C.GoBytes(buf.data, C.int(buf.length)), nil
}
