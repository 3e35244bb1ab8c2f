package tfgraph

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"github.com/wamuir/graft/tensorflow/op"
)

// HessianVector adds H·v, the Hessian of the scalar y with respect to x
// applied to v (x's shape and dtype): the gradient of g·v with v held
// fixed, g = dy/dx. Where y is linear in x (g does not depend on x) it is
// zeros.
//
// TensorFlow's C++ gradient registry has no gradients for the activation
// gradient ops the first gradient is made of (ReluGrad, SigmoidGrad,
// RsqrtGrad, ...), so the first gradient is copied with each of them
// written out in elementary ops (ReluGrad(dy, x) = dy·sign(relu(x)),
// SigmoidGrad(y, dy) = dy·(y − y²), ...), MaxPoolGrad as a scatter to the
// windows' maxima (maxPoolGradAsScatter), and the second gradient taken
// through the copy.
func (f *Forward) HessianVector(y, x, v tf.Output) (tf.Output, error) {
	f.scopes++
	raw := fmt.Sprintf("tfcam_hraw_%d", f.scopes)
	s := op.NewScopeWithGraph(f.model.Graph).SubScope(raw + "_seed")
	// An explicit incoming gradient: the default, OnesLike(y), has no
	// gradient itself.
	one := op.Const(s, float32(1))
	if y.DataType() != tf.Float {
		one = op.Cast(s, one, y.DataType())
	}
	if err := s.Err(); err != nil {
		return tf.Output{}, fmt.Errorf("tfgraph: %w", err)
	}
	grads, err := f.model.Graph.AddGradients(raw, []tf.Output{y}, []tf.Output{x}, []tf.Output{one})
	if err != nil {
		return tf.Output{}, f.gradientError(err)
	}
	if isNull(grads[0]) {
		return f.zerosLike(raw, x)
	}
	g, err := f.copyGradients(raw, fmt.Sprintf("tfcam_hgrad_%d", f.scopes), grads, elementaryGradOps)
	if err != nil {
		return tf.Output{}, err
	}
	return f.VectorJacobian(g[0], x, v)
}

// elementaryGradOps writes an activation gradient op out in ops that have
// gradients themselves; other nodes are kept.
func elementaryGradOps(nd *nodepb.NodeDef) []*nodepb.NodeDef {
	if nd.GetOp() == "MaxPoolGrad" {
		return maxPoolGradAsScatter(nd)
	}
	if len(nd.Input) < 2 {
		return []*nodepb.NodeDef{nd}
	}
	t := nd.GetAttr()["T"]
	name := nd.Name
	var nodes []*nodepb.NodeDef
	node := func(suffix, opType string, inputs ...string) string {
		n := &nodepb.NodeDef{Name: name + "/" + suffix, Op: opType, Input: inputs, Attr: map[string]*attrpb.AttrValue{"T": t}}
		nodes = append(nodes, n)
		return n.Name + ":0"
	}
	konst := func(suffix string, v float32) string {
		c := &nodepb.NodeDef{Name: name + "/" + suffix, Op: "Const", Attr: map[string]*attrpb.AttrValue{
			"dtype": {Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_FLOAT}},
			"value": {Value: &attrpb.AttrValue_Tensor{Tensor: &tensorpb.TensorProto{Dtype: typespb.DataType_DT_FLOAT, TensorShape: &shapepb.TensorShapeProto{}, FloatVal: []float32{v}}}},
		}}
		nodes = append(nodes, c)
		if t.GetType() == typespb.DataType_DT_FLOAT {
			return c.Name + ":0"
		}
		cast := &nodepb.NodeDef{Name: c.Name + "_cast", Op: "Cast", Input: []string{c.Name + ":0"}, Attr: map[string]*attrpb.AttrValue{
			"SrcT": {Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_FLOAT}}, "DstT": t,
		}}
		nodes = append(nodes, cast)
		return cast.Name + ":0"
	}
	// The last node takes the original's name (and control inputs).
	last := func(opType string, inputs ...string) []*nodepb.NodeDef {
		var ctrl []string
		for _, in := range nd.Input[2:] {
			ctrl = append(ctrl, in)
		}
		nodes = append(nodes, &nodepb.NodeDef{Name: name, Op: opType, Input: append(inputs, ctrl...), Attr: map[string]*attrpb.AttrValue{"T": t}, Device: nd.Device})
		return nodes
	}
	a, b := nd.Input[0], nd.Input[1]
	switch nd.GetOp() {
	case "ReluGrad": // (dy, features): dy where features > 0
		return last("Mul", a, node("on", "Sign", node("relu", "Relu", b)))
	case "Relu6Grad": // (dy, features): dy where 0 < features < 6
		r6 := node("relu6", "Relu6", b)
		below := node("below", "Sign", node("gap", "Sub", konst("six", 6), r6))
		return last("Mul", a, node("inside", "Mul", node("on", "Sign", r6), below))
	case "SigmoidGrad": // (y, dy): dy·y·(1−y)
		return last("Mul", b, node("slope", "Sub", a, node("y2", "Square", a)))
	case "TanhGrad": // (y, dy): dy·(1−y²)
		return last("Sub", b, node("dyy2", "Mul", b, node("y2", "Square", a)))
	case "RsqrtGrad": // (y, dy): −½·dy·y³
		y3 := node("y3", "Mul", a, node("y2", "Square", a))
		return last("Mul", node("dyy3", "Mul", b, y3), konst("half", -0.5))
	case "SqrtGrad": // (y, dy): ½·dy/y
		return last("Mul", node("dy_y", "RealDiv", b, a), konst("half", 0.5))
	case "ReciprocalGrad", "InvGrad": // (y, dy): −dy·y²
		return last("Neg", node("dyy2", "Mul", b, node("y2", "Square", a)))
	}
	return []*nodepb.NodeDef{nd}
}

// maxPoolGradAsScatter writes MaxPoolGrad(x, y, dy) — dy routed to the
// position of each window's maximum in x — as a scatter of dy to the
// positions MaxPoolWithArgmax finds (the first maximum of each window in
// row-major order, as MaxPoolGrad's CPU kernel routes ties; overlapping
// windows add up, as there): ScatterNd has a gradient in TensorFlow's C++
// registry (a gather), MaxPoolGrad none. The positions are piecewise
// constant in x (StopGradient). Other layouts than NHWC and explicit
// padding, which MaxPoolWithArgmax lacks, keep the node (and the method
// needing the second gradient is refused as before).
func maxPoolGradAsScatter(nd *nodepb.NodeDef) []*nodepb.NodeDef {
	attr := nd.GetAttr()
	if len(nd.Input) < 3 || string(attr["data_format"].GetS()) == "NCHW" || string(attr["padding"].GetS()) == "EXPLICIT" {
		return []*nodepb.NodeDef{nd}
	}
	typ := func(t typespb.DataType) *attrpb.AttrValue {
		return &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: t}}
	}
	i64, i32 := typ(typespb.DataType_DT_INT64), typ(typespb.DataType_DT_INT32)
	t := attr["T"]
	name := nd.Name
	var nodes []*nodepb.NodeDef
	node := func(suffix, opType string, attrs map[string]*attrpb.AttrValue, inputs ...string) string {
		nodes = append(nodes, &nodepb.NodeDef{Name: name + "/" + suffix, Op: opType, Input: inputs, Attr: attrs, Device: nd.Device})
		return name + "/" + suffix
	}
	ints := func(suffix string, v ...int32) string {
		return node(suffix, "Const", map[string]*attrpb.AttrValue{
			"dtype": i32,
			"value": {Value: &attrpb.AttrValue_Tensor{Tensor: &tensorpb.TensorProto{Dtype: typespb.DataType_DT_INT32,
				TensorShape: &shapepb.TensorShapeProto{Dim: []*shapepb.TensorShapeProto_Dim{{Size: int64(len(v))}}}, IntVal: v}}},
		})
	}
	x, dy := nd.Input[0], nd.Input[2]
	argmax := node("argmax", "MaxPoolWithArgmax", map[string]*attrpb.AttrValue{
		"ksize": attr["ksize"], "strides": attr["strides"], "padding": attr["padding"], "T": t, "Targmax": i64,
		"include_batch_in_index": {Value: &attrpb.AttrValue_B{B: true}},
	}, x)
	fixed := node("fixed", "StopGradient", map[string]*attrpb.AttrValue{"T": i64}, argmax+":1")
	at := node("at", "Reshape", map[string]*attrpb.AttrValue{"T": i64, "Tshape": i32}, fixed, ints("column", -1, 1))
	flat := node("flat", "Reshape", map[string]*attrpb.AttrValue{"T": t, "Tshape": i32}, dy, ints("row", -1))
	shape := node("shape", "Shape", map[string]*attrpb.AttrValue{"T": t, "out_type": i64}, x)
	size := node("size", "Prod", map[string]*attrpb.AttrValue{"T": i64, "Tidx": i32, "keep_dims": {Value: &attrpb.AttrValue_B{B: true}}}, shape, ints("axis", 0))
	scattered := node("scatter", "ScatterNd", map[string]*attrpb.AttrValue{"T": t, "Tindices": i64}, at, flat, size)
	// The last node takes the original's name (and control inputs).
	nodes = append(nodes, &nodepb.NodeDef{Name: name, Op: "Reshape", Input: append([]string{scattered, shape}, nd.Input[3:]...),
		Attr: map[string]*attrpb.AttrValue{"T": t, "Tshape": i64}, Device: nd.Device})
	return nodes
}

// zerosLike is zeros in x's shape and dtype.
func (f *Forward) zerosLike(prefix string, x tf.Output) (tf.Output, error) {
	s := op.NewScopeWithGraph(f.model.Graph).SubScope(prefix + "_zeros")
	z := op.ZerosLike(s, x)
	if err := s.Err(); err != nil {
		return tf.Output{}, fmt.Errorf("tfgraph: %w", err)
	}
	return z, nil
}
