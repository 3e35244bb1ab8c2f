package cgo

// #include "tensorflow/c/c_api.h"
import "C"

import (
	"fmt"
	"reflect"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/internal/graftcheck"
)

// This file holds everything package cgo knows about graft's private types.
//
// DeleteTensor and TensorData (capi.go) need the *C.TF_Tensor inside a
// *tf.Tensor, which graft keeps private: graft frees a tensor's C memory
// only in its finalizer, which Go's garbage collector runs late because it
// does not see TensorFlow's allocations, and it offers no view of the data
// without a copy. So capi.go converts a *tf.Tensor to a *graftTensor with
// unsafe. graftTensor mirrors tensorflow.Tensor of graft v0.10.0
// (graftVersion; tensorflow/tensor.go there):
//
//	type Tensor struct {
//		c     *C.TF_Tensor
//		shape []int64
//	}
//
// If a graft upgrade changed that struct the conversion would read and
// write the wrong memory, so init compares the two types field by field
// (count, order, names, kinds, types, offsets, sizes) and panics on any
// difference, before any tensor is touched. graft_layout_test.go asserts the
// same facts on their own, and that the graft in go.mod is graftVersion:
// after an upgrade, re-read graft's Tensor, then update this file.

// graftVersion is the graft release whose tensorflow.Tensor graftTensor
// mirrors.
const graftVersion = "v0.10.0"

// graftTensor mirrors tensorflow.Tensor of graft v0.10.0 (graftVersion):
// DeleteTensor and TensorData need its C pointer, which graft keeps
// private. init panics if graft's Tensor no longer has this layout (see
// the comment at the top of this file).
type graftTensor struct {
	c     *C.TF_Tensor
	shape []int64
}

func init() {
	if err := compareLayout(reflect.TypeFor[tf.Tensor](), reflect.TypeFor[graftTensor]()); err != nil {
		panic(fmt.Sprintf("tfcam/cgo: graft's tensorflow.Tensor no longer has the layout of cgo.graftTensor (graft %s's): %v. "+
			"DeleteTensor and TensorData would corrupt memory; update cgo/graft_layout.go to the graft in go.mod", graftVersion, err))
	}
}

// compareLayout returns an error naming the first difference between the
// struct type got (graft's) and its mirror want: the number of fields, then
// field by field in order its name, kind, type and offset, then the
// struct's size and alignment.
func compareLayout(got, want reflect.Type) error {
	if got.Kind() != reflect.Struct || want.Kind() != reflect.Struct {
		return fmt.Errorf("%s is a %s and %s a %s, want two structs", got, got.Kind(), want, want.Kind())
	}
	if got.NumField() != want.NumField() {
		return fmt.Errorf("%s has %d fields {%s}, want %d {%s}", got, got.NumField(), graftcheck.FieldList(got), want.NumField(), graftcheck.FieldList(want))
	}
	for i := range got.NumField() {
		g, w := got.Field(i), want.Field(i)
		switch {
		case g.Name != w.Name:
			return fmt.Errorf("field %d of %s is named %q, want %q (fields {%s}, want {%s})", i, got, g.Name, w.Name, graftcheck.FieldList(got), graftcheck.FieldList(want))
		case g.Type.Kind() != w.Type.Kind():
			return fmt.Errorf("field %d (%s) of %s is a %s, want a %s", i, g.Name, got, g.Type.Kind(), w.Type.Kind())
		case !sameType(g.Type, w.Type):
			return fmt.Errorf("field %d (%s) of %s has type %s, want %s", i, g.Name, got, g.Type, w.Type)
		case g.Offset != w.Offset:
			return fmt.Errorf("field %d (%s) of %s is at offset %d, want %d", i, g.Name, got, g.Offset, w.Offset)
		}
	}
	if got.Size() != want.Size() || got.Align() != want.Align() {
		return fmt.Errorf("%s has size %d and alignment %d, want %d and %d", got, got.Size(), got.Align(), want.Size(), want.Align())
	}
	return nil
}

// sameType reports whether g and w are the same type or, for a C pointer,
// pointers to the same C type: every package that imports "C" declares its
// own Go type for a C struct (graft's tensorflow._Ctype_struct_TF_Tensor is
// not this package's cgo._Ctype_struct_TF_Tensor), so those compare by name,
// kind and size.
func sameType(g, w reflect.Type) bool {
	if g == w {
		return true
	}
	if g.Kind() != reflect.Pointer || w.Kind() != reflect.Pointer {
		return false
	}
	ge, we := g.Elem(), w.Elem()
	return strings.HasPrefix(we.Name(), "_Ctype_") && ge.Name() == we.Name() && ge.Kind() == we.Kind() && ge.Size() == we.Size()
}
