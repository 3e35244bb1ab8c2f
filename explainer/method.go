package explainer

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/internal/suggest"
)

// Needs says which tensors a method reads, so that the explainer builds only
// the gradients somebody uses.
type Needs struct {
	// LayerGrad: gradients of the class score at the target layer.
	LayerGrad bool
	// GuidedInputGrad: guided-backpropagation gradients at the input.
	GuidedInputGrad bool
}

// Tensors are what a method builds its map from.
type Tensors struct {
	// A is the target layer's activations [N,h,w,K].
	A tf.Output
	// G is d score / d A [N,h,w,K] (when Needs.LayerGrad).
	G tf.Output
	// Guided is the guided-backprop gradient at the input [N,H,W,C] (when
	// Needs.GuidedInputGrad).
	Guided tf.Output
	// Upsample resizes a layer-resolution map [N,h,w] to the input's [N,H,W].
	Upsample func(m tf.Output) tf.Output
	// Ctx reaches the model for methods that need more (perturbations,
	// noise, paths, head weights).
	Ctx *Context
}

// signedMethod is implemented by methods whose maps keep their sign
// (attributions): the shared ReLU is skipped for them.
type signedMethod interface{ Signed() bool }

func isSigned(m Method) bool {
	s, ok := m.(signedMethod)
	return ok && s.Signed()
}

// Method is one explanation method: a name and the tensors it reads.
// Every method is also exactly one of three kinds, which say what it
// builds; the explainer does the rest (ReLU unless Signed, upsampling,
// normalisation, eigen_smooth and aug_smooth):
//
//   - a WeightMethod returns weights w on the layer's activations A; the
//     map is Σ_k (w⊙A)_k, or under eigen_smooth the first principal
//     component of w⊙A (most class-activation methods: Grad-CAM, Score-CAM…);
//   - a MapMethod returns its map (Eigen-CAM, attributions, perturbations);
//   - a ConceptMethod returns several concept maps per image (DFF).
//
// Validate (and so New and ParseMethods) refuses a Method of none or
// several kinds.
type Method interface {
	// Name is the identifier used on the command line ("gradcam").
	Name() string
	// Needs lists the tensors the method reads.
	Needs() Needs
}

// WeightMethod is a class-activation method given by its weights on the
// target layer's activations: the explainer builds the map from them.
type WeightMethod interface {
	Method
	// Weights appends the method's ops and returns w, float32: channel
	// weights [N,1,1,K] (Grad-CAM's w_k), or weights per position
	// [N,h,w,K] (HiRes-CAM's g). The map is Σ_k w_k A_k at the layer's
	// resolution (eigen_smooth: the first principal component of w⊙A).
	Weights(o *Ops, t Tensors) (tf.Output, error)
}

// MapMethod is a method that builds its map itself.
type MapMethod interface {
	Method
	// InputResolution reports whether Build's map is at the input's size
	// [N,H,W] rather than the layer's [N,h,w].
	InputResolution() bool
	// Build appends the method's ops and returns its map before the
	// shared ReLU.
	Build(o *Ops, t Tensors) (tf.Output, error)
}

// kinds names the kinds m is of (WeightMethod, MapMethod, ConceptMethod).
func kinds(m Method) []string {
	var k []string
	if _, ok := m.(WeightMethod); ok {
		k = append(k, "WeightMethod")
	}
	if _, ok := m.(MapMethod); ok {
		k = append(k, "MapMethod")
	}
	if _, ok := m.(ConceptMethod); ok {
		k = append(k, "ConceptMethod")
	}
	return k
}

// checkKind refuses a method that is not exactly one kind.
func checkKind(m Method) error {
	if k := kinds(m); len(k) != 1 {
		return fmt.Errorf("explainer: method %s (%T) must implement exactly one of WeightMethod, MapMethod and ConceptMethod; it implements %d %v", m.Name(), m, len(k), k)
	}
	return nil
}

// inputResolution reports whether m's map is at the input's size.
func inputResolution(m Method) bool {
	mm, ok := m.(MapMethod)
	return ok && mm.InputResolution()
}

// layerMethod is embedded by map methods that work at the target layer.
type layerMethod struct{}

func (layerMethod) InputResolution() bool { return false }

// ParseMethods parses a comma-separated list of method specs ("all" for
// the gradient family, All, in place: "scorecam,all" is Score-CAM and the
// family). A spec is a method name with optional
// settings of its exported fields, each ":field=value" with the field name
// in any case: "integrated-gradients:steps=64:baseline=blur",
// "scorecam:variant=softmax", "faster-scorecam:topn=20". Options lists the
// fields of each method. Every value is checked here (Validate), before any
// model is loaded: a bad one is an *OptionError naming the method, the
// option and what it takes. Outputs are named by method, so a method may
// appear only once.
func ParseMethods(list string) ([]Method, error) {
	byName := map[string]Method{}
	var names []string
	for _, m := range Registry() {
		byName[m.Name()] = m
		names = append(names, m.Name())
	}
	sort.Strings(names)
	var out []Method
	type given struct {
		spec string
		m    Method
	}
	seen := map[string]given{}
	for _, raw := range strings.Split(list, ",") {
		spec := strings.TrimSpace(raw)
		if spec == "" {
			continue
		}
		parts := strings.Split(spec, ":")
		name := strings.ToLower(strings.TrimSpace(parts[0]))
		var ms []Method
		if name == "all" {
			// "all" expands in place, so "scorecam,all" keeps Score-CAM.
			if len(parts) > 1 {
				return nil, fmt.Errorf("explainer: %q: all takes no options; set them on single methods", spec)
			}
			ms = All()
		} else {
			m, ok := byName[name]
			if !ok {
				return nil, fmt.Errorf("explainer: unknown method %q%s (known: %s, or all)", parts[0], didYouMean(name, names), strings.Join(names, ", "))
			}
			for _, kv := range parts[1:] {
				var err error
				if m, err = setSpecOption(m, kv); err != nil {
					return nil, fmt.Errorf("explainer: method %q: %w", spec, err)
				}
			}
			if err := Validate(m); err != nil {
				var oe *OptionError
				if errors.As(err, &oe) {
					oe.Method = name // as given: faster-scorecam:topn=-1 is scorecam by now
				}
				return nil, err
			}
			ms = []Method{m}
		}
		for _, m := range ms {
			if prev, dup := seen[m.Name()]; dup {
				if reflect.DeepEqual(prev.m, m) {
					continue
				}
				return nil, fmt.Errorf("explainer: %q and %q are both method %s; outputs are named by method, so explain the variants into separate --out directories", prev.spec, spec, m.Name())
			}
			seen[m.Name()] = given{spec, m}
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("explainer: no method given (known: %s, or all)", strings.Join(names, ", "))
	}
	return out, nil
}

// didYouMean is " (did you mean "a", "b"?)" with the known names closest
// to name, or "" when none is close.
func didYouMean(name string, known []string) string {
	close := suggest.Closest(name, known, 3)
	if len(close) == 0 {
		return ""
	}
	q := make([]string, len(close))
	for i, c := range close {
		q[i] = strconv.Quote(c)
	}
	return " (did you mean " + strings.Join(q, ", ") + "?)"
}

// Options returns the settings of m that a method spec can set (its
// exported int, float, string and bool fields), lower-case, with their
// current values: "steps=0" means the method's default.
func Options(m Method) []string {
	if s, ok := m.(Smoothed); ok {
		return append(Options(s.Method), smoothSettings(s)...)
	}
	var out []string
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Struct {
		return nil
	}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Anonymous || !settable(f.Type.Kind()) {
			continue
		}
		out = append(out, fmt.Sprintf("%s=%v", strings.ToLower(f.Name), v.Field(i).Interface()))
	}
	return out
}

func settable(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int64, reflect.Float32, reflect.Float64, reflect.String, reflect.Bool:
		return true
	}
	return false
}

// setSpecOption sets "key=value" on m: a smoothing option (SmoothOptions)
// or one of the method's own (setOption).
func setSpecOption(m Method, kv string) (Method, error) {
	key, value, _ := strings.Cut(kv, "=")
	m, ok, err := setSmoothOption(m, strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(value))
	if ok || err != nil {
		return m, err
	}
	if s, ok := m.(Smoothed); ok {
		inner, err := setOption(s.Method, kv)
		if err != nil {
			return nil, err
		}
		return Smooth(inner, s.EigenSmooth, s.AugSmooth), nil
	}
	return setOption(m, kv)
}

// setOption returns a copy of m with the field named in "key=value" set.
func setOption(m Method, kv string) (Method, error) {
	key, value, ok := strings.Cut(kv, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return nil, fmt.Errorf("option %q: want key=value", kv)
	}
	value = strings.TrimSpace(value)
	v := reflect.New(reflect.TypeOf(m)).Elem()
	v.Set(reflect.ValueOf(m))
	var field reflect.Value
	var known []string
	if v.Kind() == reflect.Struct {
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Anonymous || !settable(f.Type.Kind()) {
				continue
			}
			known = append(known, strings.ToLower(f.Name))
			if strings.EqualFold(f.Name, key) {
				field = v.Field(i)
			}
		}
	}
	if !field.IsValid() {
		if len(known) == 0 {
			return nil, fmt.Errorf("unknown option %q: %s has no options", key, m.Name())
		}
		return nil, fmt.Errorf("unknown option %q (%s has: %s)", key, m.Name(), strings.Join(known, ", "))
	}
	switch field.Kind() {
	case reflect.String:
		field.SetString(strings.ToLower(value))
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("option %s=%q: want an integer", key, value)
		}
		field.SetInt(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("option %s=%q: want a number", key, value)
		}
		field.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return nil, fmt.Errorf("option %s=%q: want true or false", key, value)
		}
		field.SetBool(b)
	}
	return v.Interface().(Method), nil
}

// MaxCount bounds every count option (steps, samples, groups, ...): each
// unit is at least one forward pass per image, so a million is far past
// anything that runs, and graph constants stay within int32.
const MaxCount = 1 << 20

// OptionError reports a method option whose value the method cannot take.
type OptionError struct {
	// Method is the method's name, Option the option's (lower case).
	Method, Option string
	// Value is the value given, Want what the option takes.
	Value, Want string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("explainer: method %s: option %s=%s: want %s", e.Method, e.Option, e.Value, e.Want)
}
