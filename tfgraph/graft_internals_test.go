package tfgraph

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/internal/graftcheck"
)

// TestGraftOperationLayout asserts, on its own, the facts about graft's
// tensorflow.Operation that isNull relies on: two fields, in order c (a
// pointer to cgo's TF_Operation, at offset 0) and g (*tf.Graph).
func TestGraftOperationLayout(t *testing.T) {
	typ := reflect.TypeFor[tf.Operation]()
	if typ.NumField() != 2 {
		t.Fatalf("tf.Operation has %d fields {%s}, want 2", typ.NumField(), graftcheck.FieldList(typ))
	}
	c := typ.Field(0)
	if c.Name != "c" || c.Type.Kind() != reflect.Pointer || c.Type.Elem().Name() != "_Ctype_struct_TF_Operation" || c.Offset != 0 {
		t.Errorf("field 0 of tf.Operation is %s %s at %d, want c *_Ctype_struct_TF_Operation at 0", c.Name, c.Type, c.Offset)
	}
	g := typ.Field(1)
	if g.Name != "g" || g.Type != reflect.TypeFor[*tf.Graph]() || g.Offset != unsafe.Sizeof(uintptr(0)) {
		t.Errorf("field 1 of tf.Operation is %s %s at %d, want g *tensorflow.Graph at %d", g.Name, g.Type, g.Offset, unsafe.Sizeof(uintptr(0)))
	}
	if err := checkFields(typ, graftOperation); err != nil {
		t.Errorf("checkFields: %v", err)
	}
}

// TestGraftOperationCheckBites gives checkFields expectations that differ
// from graft's Operation in one way each and wants each reported.
func TestGraftOperationCheckBites(t *testing.T) {
	typ := reflect.TypeFor[tf.Operation]()
	c, g := graftOperation[0], graftOperation[1]
	with := func(f graftField, change func(*graftField)) graftField { change(&f); return f }
	for _, tc := range []struct {
		name string
		want []graftField
		msg  string
	}{
		{"swapped", []graftField{g, c}, `field 0 of tensorflow.Operation is named "c", want "g"`},
		{"renamed", []graftField{with(c, func(f *graftField) { f.name = "op" }), g}, `is named "c", want "op"`},
		{"kind", []graftField{c, with(g, func(f *graftField) { f.kind = reflect.Struct; f.typ = reflect.TypeFor[tf.Graph]() })}, "is a ptr, want a struct"},
		{"type", []graftField{c, with(g, func(f *graftField) { f.typ = reflect.TypeFor[*tf.Operation]() })}, "has type *tensorflow.Graph, want *tensorflow.Operation"},
		{"C type", []graftField{with(c, func(f *graftField) { f.cType = "_Ctype_struct_TF_Tensor" }), g}, "want a pointer to _Ctype_struct_TF_Tensor"},
		{"offset", []graftField{c, with(g, func(f *graftField) { f.offset = 0 })}, fmt.Sprintf("is at offset %d, want 0", g.offset)},
		{"extra field", []graftField{c, g, g}, "has 2 fields"},
		{"missing field", []graftField{c}, "has 2 fields"},
	} {
		err := checkFields(typ, tc.want)
		if err == nil {
			t.Errorf("%s: checkFields found no difference", tc.name)
		} else if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: checkFields = %q, want it to say %q", tc.name, err, tc.msg)
		}
	}
	if err := checkFields(reflect.TypeFor[*tf.Operation](), graftOperation); err == nil || !strings.Contains(err.Error(), "want a struct") {
		t.Errorf("checkFields(*tf.Operation) = %v, want a not-a-struct error", err)
	}
}

// TestIsNull builds y = stop_gradient(x) + z²: y depends on x only through
// an op without a gradient, so TF_AddGradients returns the null output for
// x (as for the second gradient of a score linear in x) and a real one for
// z. (An x not on any path to y is an error instead.)
func TestIsNull(t *testing.T) {
	s := op.NewScope()
	x := op.Placeholder(s.SubScope("x"), tf.Float)
	z := op.Placeholder(s.SubScope("z"), tf.Float)
	y := op.Add(s, op.StopGradient(s, x), op.Square(s, z))
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	grads, err := g.AddGradients("grad", []tf.Output{y}, []tf.Output{x, z}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !isNull(grads[0]) {
		t.Error("isNull is false for the gradient of y with respect to x, which y does not depend on")
	}
	if isNull(grads[1]) {
		t.Error("isNull is true for the gradient of y with respect to z")
	} else if name := grads[1].Op.Name(); !strings.HasPrefix(name, "grad") {
		t.Errorf("the gradient with respect to z is %q, want an op under grad/", name)
	}
	for _, o := range []tf.Output{x, z, y} {
		if isNull(o) {
			t.Errorf("isNull is true for %s", o.Op.Name())
		}
	}
	if !isNull(tf.Output{}) {
		t.Error("isNull is false for an Output without an Operation")
	}
}

// TestGraftVersion fails when go.mod's graft is not the release
// graft_internals.go was checked against, so that an upgrade re-reads
// graft's Operation and AddGradients even when the layout check still
// passes. (A test binary's build info lists no dependencies, so it reads
// go.mod.)
func TestGraftVersion(t *testing.T) {
	version, err := graftcheck.GoModVersion("../go.mod")
	if err != nil {
		t.Fatalf("%v: check graft's tensorflow.Operation and update this test", err)
	}
	if version != graftVersion {
		t.Errorf("go.mod has graft %q, graft_internals.go describes %s: re-read tensorflow.Operation and Graph.AddGradients in graft, update graftOperation and isNull, then graftVersion", version, graftVersion)
	}
}
