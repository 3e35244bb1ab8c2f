package tfgraph

import (
	"fmt"
	"reflect"
	"unsafe"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/internal/graftcheck"
)

// This file holds everything package tfgraph knows about graft's private
// types: how to tell the null output of TF_AddGradients.
//
// TF_AddGradients returns a null output (a NULL TF_Operation) for an x
// whose paths to y all pass through ops without a gradient (StopGradient,
// Shape, ZerosLike, ...; the gradient of a score linear in x is such a y,
// while an x on no path to y is an error instead), and graft v0.10.0's
// Graph.AddGradients (graftVersion) wraps it as it is, in
// &Operation{c: nil, g: g}. Every method of that Operation hands the NULL
// to TensorFlow's C API and crashes the process, and graft exposes neither
// the pointer nor a test for it, so isNull reads the private pointer by
// reflection. The layout it reads, tensorflow/operation.go of graft v0.10.0:
//
//	type Operation struct {
//		c *C.TF_Operation
//		g *Graph
//	}
//
// Reading it by reflection cannot corrupt memory, but if a graft upgrade
// moved or renamed c, isNull would read the wrong field or none, and a
// Hessian or VectorJacobian of a score linear in x would crash far into a
// run. So init checks the layout against graftOperation (field count, then
// each field's name, kind, type and offset in order) and panics on any
// difference, before any graph is built. graft_internals_test.go asserts
// the same facts on their own, that isNull tells a real null output from a
// real op's, and that the graft in go.mod is graftVersion: after an
// upgrade, re-read graft's Operation and AddGradients, then update this
// file.

// graftVersion is the graft release whose tensorflow.Operation
// graftOperation describes.
const graftVersion = "v0.10.0"

// graftField is what tfgraph expects of one field of a graft struct.
type graftField struct {
	name   string
	kind   reflect.Kind
	typ    reflect.Type // the field's type; nil for a pointer to a C type (graft's own Go type for it)
	cType  string       // for a C pointer: the Go name cgo gives the C type
	offset uintptr
}

// graftOperation is the layout of graft v0.10.0's tensorflow.Operation
// (graftVersion): isNull reads field 0, graft's *C.TF_Operation, which is
// NULL in the null outputs of TF_AddGradients (see the top of this file).
var graftOperation = []graftField{
	{name: "c", kind: reflect.Pointer, cType: "_Ctype_struct_TF_Operation", offset: 0},
	{name: "g", kind: reflect.Pointer, typ: reflect.TypeFor[*tf.Graph](), offset: unsafe.Sizeof(uintptr(0))},
}

func init() {
	if err := checkFields(reflect.TypeFor[tf.Operation](), graftOperation); err != nil {
		panic(fmt.Sprintf("tfcam/tfgraph: graft's tensorflow.Operation no longer has the layout of graft %s that isNull reads: %v. "+
			"Null gradients would crash the process; update tfgraph/graft_internals.go to the graft in go.mod", graftVersion, err))
	}
}

// checkFields returns an error naming the first difference between the
// struct type t and want: the number of fields, then field by field in
// order its name, kind, type (or, for a C pointer, the C type's name) and
// offset.
func checkFields(t reflect.Type, want []graftField) error {
	if t.Kind() != reflect.Struct {
		return fmt.Errorf("%s is a %s, want a struct", t, t.Kind())
	}
	if t.NumField() != len(want) {
		return fmt.Errorf("%s has %d fields {%s}, want %d", t, t.NumField(), graftcheck.FieldList(t), len(want))
	}
	for i, w := range want {
		f := t.Field(i)
		switch {
		case f.Name != w.name:
			return fmt.Errorf("field %d of %s is named %q, want %q (fields {%s})", i, t, f.Name, w.name, graftcheck.FieldList(t))
		case f.Type.Kind() != w.kind:
			return fmt.Errorf("field %d (%s) of %s is a %s, want a %s", i, f.Name, t, f.Type.Kind(), w.kind)
		case w.typ != nil && f.Type != w.typ:
			return fmt.Errorf("field %d (%s) of %s has type %s, want %s", i, f.Name, t, f.Type, w.typ)
		case w.typ == nil && (f.Type.Kind() != reflect.Pointer || f.Type.Elem().Name() != w.cType):
			return fmt.Errorf("field %d (%s) of %s has type %s, want a pointer to %s", i, f.Name, t, f.Type, w.cType)
		case f.Offset != w.offset:
			return fmt.Errorf("field %d (%s) of %s is at offset %d, want %d", i, f.Name, t, f.Offset, w.offset)
		}
	}
	return nil
}

// isNull reports the null output TF_AddGradients returns for an x whose
// paths to y have no gradient (see the top of this file): graft wraps it
// in an Operation whose C pointer (field 0, checked by init) is nil, and
// using that Operation crashes the process. An Output without an Operation
// is null too.
func isNull(o tf.Output) bool {
	if o.Op == nil {
		return true
	}
	return reflect.ValueOf(o.Op).Elem().Field(0).IsNil()
}
