package results

import (
	expb "github.com/wamuir/graft/tensorflow/core/example/example_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// MapExample is one map as a tf.train.Example, the record tfcam writes to
// a shard's .tfrecord file (--save tfrecord); TF pipelines read it with
// tf.data.TFRecordDataset and tf.io.parse_single_example:
//
//	key, input, method, label: bytes        class, rank: int64
//	score: float                            predictions/class: int64 list
//	predictions/score: float list           map/height, map/width: int64
//	map/png16: bytes (16-bit grayscale PNG of the normalised map:
//	           tf.io.decode_png(x, dtype=tf.uint16) / 65535)
func MapExample(rec Record, m Map, png16 []byte, w, h int) ([]byte, error) {
	b := func(s string) *expb.Feature {
		return &expb.Feature{Kind: &expb.Feature_BytesList{BytesList: &expb.BytesList{Value: [][]byte{[]byte(s)}}}}
	}
	i := func(v ...int64) *expb.Feature {
		return &expb.Feature{Kind: &expb.Feature_Int64List{Int64List: &expb.Int64List{Value: v}}}
	}
	f := func(v ...float32) *expb.Feature {
		return &expb.Feature{Kind: &expb.Feature_FloatList{FloatList: &expb.FloatList{Value: v}}}
	}
	var pc []int64
	var ps []float32
	for _, p := range rec.Predictions {
		pc = append(pc, int64(p.Class))
		ps = append(ps, p.Score)
	}
	ex := &expb.Example{Features: &expb.Features{Feature: map[string]*expb.Feature{
		"key":               b(rec.Key),
		"input":             b(rec.Input),
		"method":            b(m.Method),
		"label":             b(m.Label),
		"class":             i(int64(m.Class)),
		"rank":              i(int64(m.Rank)),
		"score":             f(m.Score),
		"predictions/class": i(pc...),
		"predictions/score": f(ps...),
		"map/height":        i(int64(h)),
		"map/width":         i(int64(w)),
		"map/png16":         {Kind: &expb.Feature_BytesList{BytesList: &expb.BytesList{Value: [][]byte{png16}}}},
	}}}
	return proto.MarshalOptions{Deterministic: true}.Marshal(ex)
}

// ExampleKey returns the "key" feature of a serialised Example.
func ExampleKey(data []byte) (string, bool) {
	var ex expb.Example
	if proto.Unmarshal(data, &ex) != nil || ex.Features == nil {
		return "", false
	}
	k := ex.Features.Feature["key"].GetBytesList().GetValue()
	if len(k) != 1 {
		return "", false
	}
	return string(k[0]), true
}
