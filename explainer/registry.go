package explainer

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Family groups registered methods by what they read. The registry lists
// them family by family, each family by Spec.Order: that order is the
// order of `--method all`, of `tfcam methods` and of the table in
// docs/methods.md.
type Family int

const (
	// FamilyGradient methods read only the target layer's activations A,
	// the shared layer gradients G and the shared guided input gradient:
	// one forward and one backward pass for all of them. They are what
	// `--method all` (All) selects.
	FamilyGradient Family = iota + 1
	// FamilyInput methods attribute the class score to input pixels
	// through input gradients (their maps are at the input's resolution).
	FamilyInput
	// FamilyMore methods need more than the shared passes: the model's
	// head weights, or forward passes on modified copies of each image
	// (masked, ablated, noisy).
	FamilyMore
)

// String names the family for --help and errors.
func (f Family) String() string {
	switch f {
	case FamilyGradient:
		return "gradient"
	case FamilyInput:
		return "input"
	case FamilyMore:
		return "more"
	}
	return "family(" + strconv.Itoa(int(f)) + ")"
}

// Option describes one setting of a method, as data: the spec key, the
// value a zero field stands for, the values it takes and what it does.
// The Go field it sets is the exported field of the same name, in any case
// ("steps" sets Steps). A zero field always means Default, so a method
// value built in Go with the field left out behaves as the spec without
// the option.
type Option struct {
	// Name is the key in a method spec, lower case ("steps").
	Name string
	// Default is the value a zero field means: an int for int fields, a
	// float64 for float fields, a string for string fields, a bool for
	// bool fields. Every reader of defaults (Build through Resolve, the
	// cost, --help, docs/methods.md) takes it from here.
	Default any
	// Allowed lists the values a string option takes (its Default among
	// them); "" is always taken, as the default.
	Allowed []string
	// Min and Max bound a numeric option's non-zero values (a zero value
	// is always taken: the default). For int options Min is at least 1
	// and Max 0 means MaxCount; for float options Min == Max == 0 means
	// any finite value.
	Min, Max float64
	// Doc says what the option does, in a few words (--help, docs/methods.md).
	Doc string
}

// Cost is what a method costs beyond the forward and backward passes that
// all methods share, in forward passes per image. Budgeting reads it: it
// splits batches and chunks copies so that no tensor passes TensorFlow's
// 2³¹-element limit or Config.MaxTensorElements; New refuses a method
// that builds more copies than it declares (a *CostError).
type Cost struct {
	// Copies is the number of forward passes per image through the whole
	// model on modified inputs (Context.Scores, Probabilities,
	// InputGradient, LayerGradient: the rows given divided by the batch's
	// images).
	Copies int
	// TailCopies is the number of passes per image through only the
	// layers after the target layer (Context.TailScores).
	TailCopies int
	// ChunkBuilt is how many of Copies are built chunk by chunk
	// (Context.CopyScores, Context.MaskedSums): only one chunk's inputs
	// exist at a time, so they are bounded by the tensor budget however
	// many there are. The other copies' inputs are built whole before the
	// chunks split them (noise, Repeat): those must fit in one tensor.
	ChunkBuilt int
}

// Geometry is what a method's cost may depend on: the sizes of the model
// input and of the target layer.
type Geometry struct {
	// H, W, C are the input's height, width and channels.
	H, W, C int
	// LH, LW are the target layer's grid (a token layer's patch grid); K
	// is its channels.
	LH, LW, K int
	// Classes is the number of classes the model scores.
	Classes int
}

// Spec is everything about one registered method except what it builds
// (its Weights, Build or BuildConcepts, methods of M): a method's file
// declares it in a package-level variable, `var _ = Register(Spec[GradCAM]{...})`,
// and nothing else in the package lists methods.
type Spec[M Method] struct {
	// Name is the method's name on the command line; it must be what
	// Proto.Name() returns.
	Name string
	// Family and Order place the method in every listing (see Family).
	// Orders are unique within a family; leave gaps (10, 20, ...) so new
	// methods can go between.
	Family Family
	Order  int
	// Summary is one line: what the method computes (docs/methods.md "what").
	Summary string
	// Notes says how the variant relates to the peers' (docs/methods.md "variant
	// notes"); may be empty.
	Notes string
	// Proto is the value the name stands for, usually M{}; a name for a
	// preset of another method's type sets fields (ScoreCAM{TopN: 10} is
	// faster-scorecam).
	Proto M
	// Options are the settable fields of M, in the order shown. Every
	// exported int, float, string or bool field of M must have one (a
	// registry test checks it).
	Options []Option
	// Check validates combinations of option values that the Options'
	// own bounds cannot express. It gets the method with defaults filled
	// in (Resolve) and returns an *OptionError; nil: nothing to check.
	Check func(m M) error
	// Cost is the method's cost for a layer, on the method with defaults
	// filled in; nil: none (only the shared passes). A method that builds
	// model copies must declare them here, or New refuses it.
	Cost func(m M, g Geometry) Cost
	// NoEigenSmooth, when set, says why the method refuses the shared
	// option eigen_smooth although its map is a layer-resolution CAM (an
	// Eigen-CAM-like map is already a principal component). Which methods
	// take the shared options is otherwise derived (see Smoothed).
	NoEigenSmooth string
}

// spec is a registered Spec without its type parameter.
type spec struct {
	name, summary, notes string
	family               Family
	order                int
	proto                Method
	typ                  reflect.Type
	options              []Option
	check                func(Method) error
	cost                 func(Method, Geometry) Cost
	noEigenSmooth        string
}

var registry struct {
	sync.Mutex
	byName map[string]*spec
	sorted []*spec // nil until first listed after a registration
}

// Register adds a method to the registry, as image.RegisterFormat adds a
// format: the registry is open, and a method an embedder registers (from
// an init function or a package-level variable) is parsed by ParseMethods,
// listed by Methods and Registry, validated from its Options and budgeted
// from its Cost like tfcam's own. Embedders' methods take orders of 1000
// and up within their family; tfcam's stay below. Register panics on a
// spec that contradicts itself (a Proto that is not exactly one kind of
// method, a Name that Proto does not return, a duplicate name or order,
// an option without a field): programming errors that any run of the
// program finds, since registration happens at initialisation.
// Registering is safe for concurrent use; register before parsing.
func Register[M Method](s Spec[M]) struct{} {
	if err := checkKind(s.Proto); err != nil {
		panic(err.Error())
	}
	if got := s.Proto.Name(); got != s.Name {
		panic(fmt.Sprintf("explainer: Register %q: Proto.Name() is %q", s.Name, got))
	}
	typ := reflect.TypeOf(s.Proto)
	for _, o := range s.Options {
		if _, ok := optionField(typ, o.Name); !ok {
			panic(fmt.Sprintf("explainer: Register %q: option %q has no exported field of %v", s.Name, o.Name, typ))
		}
	}
	sp := &spec{name: s.Name, summary: s.Summary, notes: s.Notes, family: s.Family, order: s.Order,
		proto: s.Proto, typ: typ, options: s.Options, noEigenSmooth: s.NoEigenSmooth}
	if s.Check != nil {
		sp.check = func(m Method) error { return s.Check(m.(M)) }
	}
	if s.Cost != nil {
		sp.cost = func(m Method, g Geometry) Cost { return s.Cost(m.(M), g) }
	}
	registry.Lock()
	defer registry.Unlock()
	if registry.byName == nil {
		registry.byName = map[string]*spec{}
	}
	if _, dup := registry.byName[s.Name]; dup {
		panic(fmt.Sprintf("explainer: method %q registered twice", s.Name))
	}
	for _, o := range registry.byName {
		if o.family == s.Family && o.order == s.Order {
			panic(fmt.Sprintf("explainer: methods %q and %q have the same family and order (%v, %d)", o.name, s.Name, s.Family, s.Order))
		}
	}
	registry.byName[s.Name] = sp
	registry.sorted = nil
	return struct{}{}
}

// unregister removes the method named name (tests of Register only).
func unregister(name string) {
	registry.Lock()
	defer registry.Unlock()
	delete(registry.byName, name)
	registry.sorted = nil
}

// specs lists the registered methods in registry order.
func specs() []*spec {
	registry.Lock()
	defer registry.Unlock()
	if registry.sorted == nil {
		for _, s := range registry.byName {
			registry.sorted = append(registry.sorted, s)
		}
		slices.SortFunc(registry.sorted, func(a, b *spec) int {
			return cmp.Or(cmp.Compare(a.family, b.family), cmp.Compare(a.order, b.order))
		})
	}
	return registry.sorted
}

// specOf is m's registration, nil for a method not registered (an
// embedder's own, or a registered name on another type).
func specOf(m Method) *spec {
	registry.Lock()
	s := registry.byName[m.Name()]
	registry.Unlock()
	if s == nil || reflect.TypeOf(m) != s.typ {
		return nil
	}
	return s
}

// Info describes a registered method: what --help, docs/methods.md's method
// table and tfcam serve show.
type Info struct {
	// Name is the method's name on the command line.
	Name string
	// Family and Order place it in listings.
	Family Family
	Order  int
	// Summary is one line on what it computes; Notes how it relates to
	// the peers' variants (may be empty).
	Summary, Notes string
	// Method is the value Name stands for, with default settings.
	Method Method
	// Options are its settings with their defaults.
	Options []Option
	// EigenSmooth and AugSmooth report whether it takes the shared
	// options eigen_smooth and aug_smooth (SmoothOptions).
	EigenSmooth, AugSmooth bool
}

// Methods lists every registered method in registry order (family, then
// order): Registry's methods with their descriptions.
func Methods() []Info {
	var out []Info
	for _, s := range specs() {
		out = append(out, Info{Name: s.name, Family: s.family, Order: s.order, Summary: s.summary, Notes: s.notes,
			Method: s.proto, Options: slices.Clone(s.options),
			EigenSmooth: smoothRefusal(s.proto, s, "eigen_smooth") == "", AugSmooth: smoothRefusal(s.proto, s, "aug_smooth") == ""})
	}
	return out
}

// Describe returns the registration of the method named name.
func Describe(name string) (Info, bool) {
	for _, in := range Methods() {
		if in.Name == name {
			return in, true
		}
	}
	return Info{}, false
}

// All returns the gradient family (one forward and one backward pass
// shared by all): the methods `--method all` selects.
func All() []Method {
	var out []Method
	for _, s := range specs() {
		if s.family == FamilyGradient {
			out = append(out, s.proto)
		}
	}
	return out
}

// Registry returns every registered method with its default settings, in
// registry order: All first, then the input attributions, then the methods
// that need more than the shared passes.
func Registry() []Method {
	var out []Method
	for _, s := range specs() {
		out = append(out, s.proto)
	}
	return out
}

// Resolve returns m with every zero option field set to its registered
// default (IntegratedGradients{} becomes IntegratedGradients{Steps: 32,
// Baseline: "zero"}); a method not registered is returned as it is.
// Builds and costs read their settings through it.
func Resolve[M Method](m M) M {
	s := specOf(m)
	if s == nil {
		return m
	}
	v := reflect.New(s.typ).Elem()
	v.Set(reflect.ValueOf(m))
	for _, o := range s.options {
		f, _ := optionField(s.typ, o.Name)
		fv := v.FieldByIndex(f.Index)
		if !fv.IsZero() || o.Default == nil {
			continue
		}
		dv := reflect.ValueOf(o.Default)
		if !dv.CanConvert(fv.Type()) {
			panic(fmt.Sprintf("explainer: %s option %s: default %v (%T) does not fit a %v field", s.name, o.Name, o.Default, o.Default, fv.Type()))
		}
		fv.Set(dv.Convert(fv.Type()))
	}
	return v.Interface().(M)
}

// costOf is m's declared cost for layer geometry g: its registration's
// Cost, or, for a method not registered, its own Cost method (Coster).
func costOf(m Method, g Geometry) Cost {
	if s := specOf(m); s != nil {
		if s.cost == nil {
			return Cost{}
		}
		return s.cost(Resolve(m), g)
	}
	if c, ok := m.(Coster); ok {
		return c.Cost(g)
	}
	return Cost{}
}

// CostAt is m's declared cost for a model and layer of geometry g (its
// Spec.Cost, or its Cost method when it is not registered), without a
// model: what `tfcam methods` shows for a stated layer.
func CostAt(m Method, g Geometry) Cost { return costOf(m, g) }

// Cost is m's declared cost on e's model and layer (its Spec.Cost, or
// its Cost method when it is not registered): the forward passes per
// image it runs beyond the ones all methods share. Reports show it.
func (e *Explainer) Cost(m Method) Cost { return costOf(m, e.geometry()) }

// Coster is implemented by a Method an embedder writes (one not
// registered in this package) that runs the model on copies of each
// image through the Context: it declares how many, as registered methods
// do in their Spec. Without it such a method may build no copies.
type Coster interface {
	Cost(g Geometry) Cost
}

// Validate checks m's option values: ParseMethods calls it on every spec,
// New on every configured method, so a method built in Go is checked too.
// It refuses a method that is not exactly one of WeightMethod, MapMethod
// and ConceptMethod, and returns an *OptionError for the first value the
// method cannot take. The options of methods not registered are not checked.
func Validate(m Method) error {
	if err := checkKind(m); err != nil {
		return err
	}
	if sm, ok := m.(Smoothed); ok {
		return sm.validate()
	}
	s := specOf(m)
	if s == nil {
		return nil
	}
	v := reflect.ValueOf(m)
	for _, o := range s.options {
		f, _ := optionField(s.typ, o.Name)
		if err := o.check(m.Name(), v.FieldByIndex(f.Index)); err != nil {
			return err
		}
	}
	if s.check != nil {
		return s.check(Resolve(m))
	}
	return nil
}

// check refuses a value of this option's field that the option does not
// take; a zero value is always taken (the default).
func (o Option) check(method string, v reflect.Value) error {
	if v.IsZero() {
		return nil
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int64:
		lo, hi := int64(max(o.Min, 1)), int64(o.Max)
		if hi == 0 {
			hi = MaxCount
		}
		if n := v.Int(); n < lo || n > hi {
			return &OptionError{Method: method, Option: o.Name, Value: strconv.FormatInt(n, 10),
				Want: fmt.Sprintf("0 (the default) or %d to %d", lo, hi)}
		}
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) || (o.Min != 0 || o.Max != 0) && (f < o.Min || f > o.Max) {
			want := "a finite number"
			if o.Min != 0 || o.Max != 0 {
				want = fmt.Sprintf("0 (the default) or %g to %g", o.Min, o.Max)
			}
			return &OptionError{Method: method, Option: o.Name, Value: strconv.FormatFloat(f, 'g', -1, 64), Want: want}
		}
	case reflect.String:
		if s := v.String(); !slices.Contains(o.Allowed, s) {
			return &OptionError{Method: method, Option: o.Name, Value: strconv.Quote(s), Want: strings.Join(o.Allowed, ", ")}
		}
	}
	return nil
}

// DefaultText is the option's default as a spec value ("32", "zero").
func (o Option) DefaultText() string {
	switch d := o.Default.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(d, 'g', -1, 64)
	default:
		return fmt.Sprint(d)
	}
}

// optionField finds the exported, settable field of typ named name in any
// case.
func optionField(typ reflect.Type, name string) (reflect.StructField, bool) {
	if typ.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.IsExported() && !f.Anonymous && settable(f.Type.Kind()) && strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// CostError reports a method whose Build makes more copies of the model
// than its registration (or, for a method not registered, its Coster)
// declares: its budget would be wrong, so New refuses it.
type CostError struct {
	// Method is the method's name, Layer the target layer's.
	Method, Layer string
	// Declared is the cost the method declares for the layer, Built what
	// its Build made (forward copies per image).
	Declared, Built Cost
}

func (e *CostError) Error() string {
	if e.Built.Copies-e.Built.ChunkBuilt > e.Declared.Copies-e.Declared.ChunkBuilt && e.Built.Copies <= e.Declared.Copies && e.Built.TailCopies <= e.Declared.TailCopies {
		return fmt.Sprintf("explainer: method %s at layer %q builds %d of its model copies per image whole but declares %d of its %d copies built chunk by chunk (Cost.ChunkBuilt): declare only what Context.CopyScores or MaskedSums builds, so that batches are budgeted",
			e.Method, e.Layer, e.Built.Copies-e.Built.ChunkBuilt, e.Declared.ChunkBuilt, e.Declared.Copies)
	}
	return fmt.Sprintf("explainer: method %s at layer %q builds %d model copies and %d tail copies per image but declares %d and %d: declare its cost (Spec.Cost, or a Cost method for a method of your own) so that batches are budgeted",
		e.Method, e.Layer, e.Built.Copies, e.Built.TailCopies, e.Declared.Copies, e.Declared.TailCopies)
}
