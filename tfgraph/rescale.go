package tfgraph

import (
	"encoding/binary"
	"math"
	"strings"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// InputScale reports whether the model scales its input pixels itself:
// the first arithmetic op that reads the image input (through Identity,
// Cast, Reshape and the like) multiplies it by a constant — a Keras
// Rescaling layer, `x / 255.0` or `x / 127.5 - 1` written in the model —
// and returns that factor (1/255, 1/127.5, or a divisor's inverse). Such a
// model takes pixel values 0..255: feeding it values already scaled to
// [0,1] would scale them twice. A factor read from a variable (an adapted
// Normalization layer) is not seen.
func (f *Forward) InputScale() (scale float64, ok bool) {
	byName := map[string]*nodepb.NodeDef{}
	for _, n := range f.nodes {
		byName[n.Name] = n
	}
	reads := func(n *nodepb.NodeDef, name string) bool {
		for _, in := range n.Input {
			if op, _, _ := strings.Cut(in, ":"); op == name {
				return true
			}
		}
		return false
	}
	at := f.Input.Op.Name()
	for range 8 { // a few pass-through ops at most
		var through *nodepb.NodeDef
		for _, n := range f.nodes {
			if !reads(n, at) {
				continue
			}
			switch n.Op {
			case "Mul", "RealDiv", "Div", "TrueDiv":
				if v, ok := constOperand(n, at, byName); ok {
					return v, true
				}
			case "Identity", "Cast", "Reshape", "ExpandDims", "EnsureShape":
				if through == nil {
					through = n
				}
			}
		}
		if through == nil {
			return 0, false
		}
		at = through.Name
	}
	return 0, false
}

// constOperand is the factor a Mul or division node n applies to tensor
// from: its other operand's value when that is a scalar constant
// (inverted for a division by it).
func constOperand(n *nodepb.NodeDef, from string, byName map[string]*nodepb.NodeDef) (float64, bool) {
	for k, in := range n.Input {
		op, _, _ := strings.Cut(in, ":")
		c, ok := byName[op]
		if op == from || !ok || c.Op != "Const" {
			continue
		}
		v, ok := scalarConst(c)
		if !ok || v == 0 {
			return 0, false
		}
		if n.Op != "Mul" {
			if k == 0 { // a constant divided by the image: not a scaling
				return 0, false
			}
			v = 1 / v
		}
		return v, true
	}
	return 0, false
}

// scalarConst is the value of a float Const node holding one value (or
// the same value repeated).
func scalarConst(n *nodepb.NodeDef) (float64, bool) {
	t := n.Attr["value"].GetTensor()
	if t == nil {
		return 0, false
	}
	var vals []float64
	switch t.Dtype {
	case typespb.DataType_DT_FLOAT:
		for _, v := range t.FloatVal {
			vals = append(vals, float64(v))
		}
		for b := t.TensorContent; len(b) >= 4; b = b[4:] {
			vals = append(vals, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))
		}
	case typespb.DataType_DT_DOUBLE:
		vals = append(vals, t.DoubleVal...)
		for b := t.TensorContent; len(b) >= 8; b = b[8:] {
			vals = append(vals, math.Float64frombits(binary.LittleEndian.Uint64(b)))
		}
	}
	if len(vals) == 0 {
		return 0, false
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			return 0, false
		}
	}
	return vals[0], true
}
