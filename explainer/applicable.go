package explainer

import (
	"errors"
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// ErrNotApplicable is wrapped by every NotApplicableError.
var ErrNotApplicable = errors.New("method does not apply to this model")

// NotApplicableError reports a method that cannot explain a model at the
// target layer (CAM without a global-average-pooling + Dense head,
// Ablation-CAM around a residual connection). New leaves such a method out
// and builds the others (Explainer.Skipped lists it); only when no method
// applies is it New's error.
type NotApplicableError struct {
	// Method is the method's name, Layer the target layer's, Model the
	// SavedModel's directory.
	Method, Layer, Model string
	// Reason says why, Instead what applies.
	Reason, Instead string
	// Err is the underlying error, if any.
	Err error
}

func (e *NotApplicableError) Error() string {
	msg := fmt.Sprintf("explainer: %s does not apply to %s at layer %q: %s", e.Method, e.Model, e.Layer, e.Reason)
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	if e.Instead != "" {
		msg += "; " + e.Instead
	}
	return msg
}

// Unwrap returns ErrNotApplicable and the underlying error.
func (e *NotApplicableError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrNotApplicable, e.Err}
	}
	return []error{ErrNotApplicable}
}

// notApplicable builds the error for method m at the explainer's layer.
func (c *Context) notApplicable(m Method, reason, instead string, err error) *NotApplicableError {
	return &NotApplicableError{Method: m.Name(), Layer: c.e.layer.Name, Model: c.e.model.Dir, Reason: reason, Instead: instead, Err: err}
}

func asErrors(nas []*NotApplicableError) []error {
	out := make([]error, len(nas))
	for i, na := range nas {
		out[i] = na
	}
	return out
}

// FlatRelative is the flat-map criterion: a map whose range (max − min) is
// at most FlatRelative times its magnitude (max |value|) is flat, its
// variation within the rounding of float32 sums (about 100 ulps; ε = 1.2e-7),
// and so is an all-zero map. Normalising such a map to [0,1] would only
// show rounding noise (or, with the 1e-7 epsilon of min–max scaling shared
// with pytorch-grad-cam and tf-keras-vis, write zeros), so Map.Flat flags it.
const FlatRelative = 1e-5

// mapStats are two numbers per map of m [N,H,W], as [N,2]: 1 where the
// map is flat (FlatRelative) else 0, and where its 0 falls once it is
// min–max scaled as normalise scales it, clamped to [0,1] (Map.Zero).
func (e *Explainer) mapStats(m tf.Output) tf.Output {
	o := &Ops{s: e.root.SubScope("flat")}
	axes := constant(o.s, []int32{1, 2})
	lo, hi := op.Min(o.Scope(), m, axes), op.Max(o.Scope(), m, axes)
	mag := op.Maximum(o.Scope(), op.Abs(o.Scope(), lo), op.Abs(o.Scope(), hi))
	flat := op.Cast(o.Scope(), op.LessEqual(o.Scope(), o.Sub(hi, lo), o.Mul(o.Const(FlatRelative), mag)), tf.Float)
	zero := op.RealDiv(o.Scope(), op.Neg(o.Scope(), lo), o.Add(o.Sub(hi, lo), o.Const(normEps)))
	zero = op.ClipByValue(o.Scope(), zero, o.Const(float32(0)), o.Const(float32(1)))
	return op.Pack(o.Scope(), []tf.Output{flat, zero}, op.PackAxis(1))
}
