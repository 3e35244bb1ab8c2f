package cgo

import (
	"encoding/binary"
	"math"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/internal/graftcheck"
)

// TestGraftTensorLayout asserts, on its own, the facts about graft's
// tensorflow.Tensor that graftTensor (and the unsafe conversion in capi.go)
// relies on: two fields, in order c (a pointer to cgo's TF_Tensor) and
// shape ([]int64), at graftTensor's offsets, with the same size.
func TestGraftTensorLayout(t *testing.T) {
	got, mirror := reflect.TypeFor[tf.Tensor](), reflect.TypeFor[graftTensor]()
	if got.NumField() != 2 || mirror.NumField() != 2 {
		t.Fatalf("tf.Tensor has %d fields {%s}, graftTensor %d; want 2", got.NumField(), graftcheck.FieldList(got), mirror.NumField())
	}
	c := got.Field(0)
	if c.Name != "c" || c.Type.Kind() != reflect.Pointer || c.Type.Elem().Name() != "_Ctype_struct_TF_Tensor" {
		t.Errorf("field 0 of tf.Tensor is %s %s, want c *_Ctype_struct_TF_Tensor", c.Name, c.Type)
	}
	if mc := mirror.Field(0); mc.Type.Elem().Name() != "_Ctype_struct_TF_Tensor" || mc.Type.Elem().Size() != c.Type.Elem().Size() {
		t.Errorf("field 0 of graftTensor is %s, want a pointer to the same C type as graft's %s", mc.Type, c.Type)
	}
	shape := got.Field(1)
	if shape.Name != "shape" || shape.Type != reflect.TypeFor[[]int64]() {
		t.Errorf("field 1 of tf.Tensor is %s %s, want shape []int64", shape.Name, shape.Type)
	}
	for i := range got.NumField() {
		if g, m := got.Field(i), mirror.Field(i); g.Name != m.Name || g.Offset != m.Offset {
			t.Errorf("field %d: tf.Tensor has %s at offset %d, graftTensor %s at %d", i, g.Name, g.Offset, m.Name, m.Offset)
		}
	}
	if got.Size() != mirror.Size() || got.Align() != mirror.Align() {
		t.Errorf("tf.Tensor has size %d align %d, graftTensor %d and %d", got.Size(), got.Align(), mirror.Size(), mirror.Align())
	}
	if err := compareLayout(got, mirror); err != nil {
		t.Errorf("compareLayout: %v", err)
	}
}

// TestGraftLayoutCheckBites gives compareLayout mirrors that differ from
// graft's Tensor in one way each and wants each difference reported.
func TestGraftLayoutCheckBites(t *testing.T) {
	graft := reflect.TypeFor[tf.Tensor]()
	cPtr := reflect.TypeFor[graftTensor]().Field(0).Type // *C.TF_Tensor as this package sees it
	field := func(name string, typ reflect.Type) reflect.StructField {
		return reflect.StructField{Name: name, PkgPath: "github.com/tfcam/tfcam/cgo", Type: typ}
	}
	i64s := reflect.TypeFor[[]int64]()
	for _, tc := range []struct {
		name   string
		mirror reflect.Type
		want   string
	}{
		{"swapped", reflect.StructOf([]reflect.StructField{field("shape", i64s), field("c", cPtr)}), `field 0 of tensorflow.Tensor is named "c", want "shape"`},
		{"renamed", reflect.StructOf([]reflect.StructField{field("c", cPtr), field("dims", i64s)}), `field 1 of tensorflow.Tensor is named "shape", want "dims"`},
		{"shape kind", reflect.StructOf([]reflect.StructField{field("c", cPtr), field("shape", reflect.TypeFor[[2]int64]())}), "is a slice, want a array"},
		{"shape elem", reflect.StructOf([]reflect.StructField{field("c", cPtr), field("shape", reflect.TypeFor[[]int32]())}), "has type []int64, want []int32"},
		{"other C type", reflect.StructOf([]reflect.StructField{field("c", reflect.TypeFor[*byte]()), field("shape", i64s)}), "has type *tensorflow._Ctype_struct_TF_Tensor, want *uint8"},
		{"extra field", reflect.StructOf([]reflect.StructField{field("c", cPtr), field("shape", i64s), field("dtype", reflect.TypeFor[int]())}), "has 2 fields"},
		{"missing field", reflect.StructOf([]reflect.StructField{field("c", cPtr)}), "has 2 fields"},
		{"padding", reflect.StructOf([]reflect.StructField{field("c", cPtr), field("_", reflect.TypeFor[[0]uint64]()), field("shape", i64s)}), "has 2 fields"},
		{"not a struct", reflect.TypeFor[*graftTensor](), "want two structs"},
	} {
		err := compareLayout(graft, tc.mirror)
		if err == nil {
			t.Errorf("%s: compareLayout(tf.Tensor, %s) found no difference", tc.name, tc.mirror)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: compareLayout(tf.Tensor, %s) = %q, want it to say %q", tc.name, tc.mirror, err, tc.want)
		}
	}
}

// TestGraftVersion fails when go.mod's graft is not the release
// graft_layout.go was checked against, so that an upgrade re-reads graft's
// Tensor even when the layout check still passes. (A test binary's build
// info lists no dependencies, so it reads go.mod.)
func TestGraftVersion(t *testing.T) {
	if v := graftInGoMod(t); v != graftVersion {
		t.Errorf("go.mod has graft %s, graft_layout.go mirrors %s: re-read tensorflow.Tensor in graft's tensorflow/tensor.go, update graftTensor, then graftVersion", v, graftVersion)
	}
}

// graftInGoMod returns the version of github.com/wamuir/graft that the
// root go.mod requires, failing t if go.mod replaces graft (a fork needs
// its own reading) or does not require it.
func graftInGoMod(t *testing.T) string {
	t.Helper()
	v, err := graftcheck.GoModVersion("../go.mod")
	if err != nil {
		t.Fatalf("%v: check graft's tensorflow.Tensor and update this test", err)
	}
	return v
}

// TestTensorDataAndDelete goes through the mirror: TensorData must see the
// tensor's bytes, graft must still see its shape, and DeleteTensor must
// clear the C pointer so that a second delete and TensorData are no-ops.
func TestTensorDataAndDelete(t *testing.T) {
	want := []float32{1, -2.5, 3e10}
	x, err := tf.NewTensor(want)
	if err != nil {
		t.Fatal(err)
	}
	data := TensorData(x)
	if len(data) != 4*len(want) {
		t.Fatalf("TensorData has %d bytes, want %d", len(data), 4*len(want))
	}
	for i, w := range want {
		if g := math.Float32frombits(binary.NativeEndian.Uint32(data[4*i:])); g != w {
			t.Errorf("element %d is %v, want %v", i, g, w)
		}
	}
	if s := x.Shape(); len(s) != 1 || s[0] != int64(len(want)) {
		t.Errorf("shape %v after TensorData, want [%d]", s, len(want))
	}
	DeleteTensor(x)
	if (*graftTensor)(unsafe.Pointer(x)).c != nil {
		t.Error("DeleteTensor left the C pointer set")
	}
	if TensorData(x) != nil {
		t.Error("TensorData of a deleted tensor is not nil")
	}
	DeleteTensor(x) // already deleted: a no-op
	DeleteTensor(nil)
}
