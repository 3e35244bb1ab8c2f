package explainer

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// TestRegistrySpecs checks every registration against its type: each
// settable field has exactly one option whose default fits it, the
// defaults pass validation and Resolve fills them in, and `all` is the
// gradient family in registry order.
func TestRegistrySpecs(t *testing.T) {
	infos := Methods()
	if len(infos) == 0 {
		t.Fatal("no method registered")
	}
	for i, in := range infos {
		t.Run(in.Name, func(t *testing.T) {
			if in.Summary == "" {
				t.Error("no summary")
			}
			if got := in.Method.Name(); got != in.Name {
				t.Errorf("Method.Name() %q", got)
			}
			if i > 0 {
				p := infos[i-1]
				if p.Family > in.Family || p.Family == in.Family && p.Order >= in.Order {
					t.Errorf("listed after %s (%v %d) with family/order %v %d", p.Name, p.Family, p.Order, in.Family, in.Order)
				}
			}
			typ := reflect.TypeOf(in.Method)
			fields := map[string]bool{}
			for _, kv := range Options(in.Method) {
				k, _, _ := strings.Cut(kv, "=")
				fields[k] = true
			}
			resolved := reflect.ValueOf(Resolve(in.Method))
			for _, o := range in.Options {
				if !fields[o.Name] {
					t.Errorf("option %q is not a settable field of %v", o.Name, typ)
				}
				delete(fields, o.Name)
				f, _ := optionField(typ, o.Name)
				if o.Default == nil || !reflect.ValueOf(o.Default).CanConvert(f.Type) || reflect.ValueOf(o.Default).Kind() != kindOf(f.Type.Kind()) {
					t.Errorf("option %s: default %#v does not fit the %v field", o.Name, o.Default, f.Type)
					continue
				}
				if o.Doc == "" {
					t.Errorf("option %s: no doc", o.Name)
				}
				got := resolved.FieldByIndex(f.Index)
				want := reflect.ValueOf(o.Default).Convert(f.Type)
				if !reflect.ValueOf(in.Method).FieldByIndex(f.Index).IsZero() {
					continue // a preset (faster-scorecam's topn)
				}
				if got.Interface() != want.Interface() {
					t.Errorf("option %s: Resolve gives %v, default %v", o.Name, got, want)
				}
				if f.Type.Kind() == reflect.String && !contains(o.Allowed, o.Default.(string)) {
					t.Errorf("option %s: default %q not among %q", o.Name, o.Default, o.Allowed)
				}
			}
			for f := range fields {
				t.Errorf("field %s has no Option in the registration", f)
			}
			if err := Validate(in.Method); err != nil {
				t.Errorf("default settings refused: %v", err)
			}
			if err := Validate(Resolve(in.Method)); err != nil {
				t.Errorf("resolved defaults refused: %v", err)
			}
		})
	}
	var grad []Method
	for _, in := range infos {
		if in.Family == FamilyGradient {
			grad = append(grad, in.Method)
		}
	}
	if !reflect.DeepEqual(All(), grad) {
		t.Errorf("All() = %v, want the gradient family %v", All(), grad)
	}
}

func kindOf(k reflect.Kind) reflect.Kind {
	switch k {
	case reflect.Int, reflect.Int64:
		return reflect.Int
	case reflect.Float32, reflect.Float64:
		return reflect.Float64
	}
	return k
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestOptionErrorsFromData checks that each option's bounds, as declared,
// are what ParseMethods enforces: one value past each bound per option.
func TestOptionErrorsFromData(t *testing.T) {
	for _, in := range Methods() {
		for _, o := range in.Options {
			var bad []string
			switch o.Default.(type) {
			case int:
				bad = []string{"-1", "1048577"}
				if o.Min > 1 {
					bad = append(bad, "1")
				}
			case string:
				bad = []string{"bogus"}
			case float64:
				if o.Min != 0 || o.Max != 0 {
					bad = []string{"1e30"}
				}
			}
			for _, v := range bad {
				spec := in.Name + ":" + o.Name + "=" + v
				_, err := ParseMethods(spec)
				var oe *OptionError
				if !errors.As(err, &oe) || oe.Option != o.Name || oe.Method != in.Name {
					t.Errorf("%s: error %v, want an *OptionError for option %s", spec, err, o.Name)
				}
			}
		}
	}
}

// copyingCAM is a test-only method of an embedder's kind (not registered):
// it scores `builds` copies of each image built whole, `scored` copies
// built chunk by chunk (Context.CopyScores), `tail` ablated activation
// copies, and declares `declares` through Coster.
type copyingCAM struct {
	layerMethod
	builds, scored, tail int
	declares             *Cost
}

func (copyingCAM) Name() string { return "copyingcam" }
func (copyingCAM) Needs() Needs { return Needs{} }

func (m copyingCAM) Cost(Geometry) Cost { return *m.declares }

func (m copyingCAM) Build(o *Ops, t Tensors) (tf.Output, error) {
	c := t.Ctx
	if m.builds > 0 {
		if _, err := c.Scores(c.Repeat(o, c.Input, m.builds)); err != nil {
			return tf.Output{}, err
		}
	}
	if m.scored > 0 {
		if _, err := c.CopyScores(o, m.scored, func(o *Ops, j, i tf.Output) tf.Output {
			return op.GatherV2(o.Scope(), c.Input, i, constant(o.s, int32(0)))
		}, false); err != nil {
			return tf.Output{}, err
		}
	}
	if m.tail > 0 {
		if _, err := c.TailScores(m, c.Repeat(o, t.A, m.tail)); err != nil {
			return tf.Output{}, err
		}
	}
	return o.ChannelSum(t.A), nil
}

// quietCAM copies the model without declaring any cost (no Coster).
type quietCAM struct{ layerMethod }

func (quietCAM) Name() string { return "quietcam" }
func (quietCAM) Needs() Needs { return Needs{} }
func (quietCAM) Build(o *Ops, t Tensors) (tf.Output, error) {
	g, err := t.Ctx.InputGradient(o, t.Ctx.Input, t.Ctx.Targets)
	return o.ChannelMaxAbs(g), err
}

// TestNewRefusesUndeclaredCopies: a method that runs more copies of the
// model than it declares is refused by New with a *CostError giving both
// counts, whichever Context call made them; an honest one is built.
func TestNewRefusesUndeclaredCopies(t *testing.T) {
	_, model := loadModel(t, "shapes")
	cases := []struct {
		name    string
		m       Method
		refused bool
		built   Cost
	}{
		{"lies about full copies", copyingCAM{builds: 3, declares: &Cost{Copies: 1}}, true, Cost{Copies: 3}},
		{"lies about tail copies", copyingCAM{tail: 4, declares: &Cost{TailCopies: 2}}, true, Cost{TailCopies: 4}},
		{"counts tail copies as full", copyingCAM{tail: 2, declares: &Cost{Copies: 2}}, true, Cost{TailCopies: 2}},
		{"two batches, one declared", copyingCAM{builds: 2, tail: 2, declares: &Cost{Copies: 2}}, true, Cost{Copies: 2, TailCopies: 2}},
		{"declares nothing", quietCAM{}, true, Cost{Copies: 1}},
		{"honest", copyingCAM{builds: 3, tail: 2, declares: &Cost{Copies: 3, TailCopies: 2}}, false, Cost{}},
		{"declares more", copyingCAM{builds: 2, declares: &Cost{Copies: 5}}, false, Cost{}},
		{"claims whole copies as built per chunk", copyingCAM{builds: 3, declares: &Cost{Copies: 3, ChunkBuilt: 3}}, true, Cost{Copies: 3}},
		{"built per chunk, declared so", copyingCAM{scored: 4, declares: &Cost{Copies: 4, ChunkBuilt: 4}}, false, Cost{}},
		{"built per chunk, declared whole", copyingCAM{scored: 4, declares: &Cost{Copies: 4}}, false, Cost{}},
		{"both kinds, one whole copy", copyingCAM{builds: 1, scored: 4, declares: &Cost{Copies: 5, ChunkBuilt: 4}}, false, Cost{}},
		{"both kinds, all claimed per chunk", copyingCAM{builds: 1, scored: 4, declares: &Cost{Copies: 5, ChunkBuilt: 5}}, true, Cost{Copies: 5, ChunkBuilt: 4}},
	}
	// Every registered method declares what its Build makes.
	if _, err := New(model, Config{Methods: Registry()}); err != nil {
		t.Errorf("registered methods: %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(model, Config{Methods: []Method{GradCAM{}, c.m}})
			var ce *CostError
			if !c.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *CostError", err)
			}
			if ce.Built != c.built || ce.Method != c.m.Name() {
				t.Errorf("CostError %+v, want %s built %+v", ce, c.m.Name(), c.built)
			}
		})
	}
}
