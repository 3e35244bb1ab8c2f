package tfgraph

import (
	"context"
	"errors"
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// This file lets a batch job stop a long graph run within seconds.
// TensorFlow cannot interrupt a run: closing the session cancels only
// kernels that wait (queues, receives), and a graph of thousands of
// masked copies computes on. So the graph checks: each chunk of a
// chunked method (explainer's Context.chunked) first runs StopCheck, an
// Assert that the Model's stop flag — a boolean resource variable — is
// false. A run whose context is marked AbortOnCancel raises the flag when
// that context is cancelled, with a second Session.Run (sessions take
// concurrent runs); the run in flight fails at its next chunk and returns
// ErrAborted. A run that reaches no stop check within AbandonAfter of
// the stop — a run without chunks, or one TensorFlow is still preparing
// (a graph of hundreds of chunks takes a minute to optimise before its
// first step) — is abandoned: it returns ErrAborted at once and ends on
// its own in the background.

// stopMessage is the Assert's message, by which run tells a stop from
// another failure.
const stopMessage = "tfcam: the run was stopped"

// ErrAborted is the error of a run stopped because its context was
// cancelled (AbortOnCancel), and of every run of that Model afterwards. It
// wraps the context's cause, so errors.Is(err, context.Canceled) holds
// for the stopped run.
var ErrAborted = errors.New("model run stopped: the job is stopping")

type abortKey struct{}

// AbortOnCancel marks ctx so that its cancellation stops a Model's
// TensorFlow run in flight at its next StopCheck (between two chunks of
// copies) instead of waiting for the run to end; the run returns
// ErrAborted, and so does every later run of that Model (Reopen it to go
// on). For a batch job's last seconds after SIGTERM; never for a model
// that goes on serving. Without the mark, a cancelled context stops a
// Model only before a run starts.
func AbortOnCancel(ctx context.Context) context.Context {
	return context.WithValue(ctx, abortKey{}, true)
}

func abortable(ctx context.Context) bool {
	v, _ := ctx.Value(abortKey{}).(bool)
	return v
}

// stopFlag is a Model's stop variable and the op that raises it.
type stopFlag struct {
	handle tf.Output
	raise  *tf.Operation
}

// flag returns the Model's stop flag, made (and set to false) on first
// use.
func (m *Model) flag() (*stopFlag, error) {
	m.stopMu.Lock()
	defer m.stopMu.Unlock()
	if m.stop != nil {
		return m.stop, nil
	}
	if m.Session == nil {
		return nil, fmt.Errorf("tfgraph: %s: %w", m.Dir, ErrClosed)
	}
	s := op.NewScopeWithGraph(m.Graph).SubScope("tfcam_stop")
	h := op.VarHandleOp(s, tf.Bool, tf.ScalarShape())
	clear := op.AssignVariableOp(s.SubScope("clear"), h, op.Const(s.SubScope("false"), false))
	raise := op.AssignVariableOp(s.SubScope("raise"), h, op.Const(s.SubScope("true"), true))
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("tfgraph: building the stop flag: %w", err)
	}
	if _, err := m.Session.Run(nil, nil, []*tf.Operation{clear}); err != nil {
		return nil, fmt.Errorf("tfgraph: setting the stop flag: %w", err)
	}
	m.stop = &stopFlag{handle: h, raise: raise}
	return m.stop, nil
}

// StopCheck adds, in scope s of the Model's graph, an op that fails the
// run when the Model is being stopped (AbortOnCancel): make a long
// computation's later parts depend on it (control dependencies), so that
// the run stops there. Its cost is a read of one boolean.
//
// After OmitStopChecks it adds nothing and returns nil.
func (m *Model) StopCheck(s *op.Scope) (*tf.Operation, error) {
	m.stopMu.Lock()
	omit := m.noStop
	m.stopMu.Unlock()
	if omit {
		return nil, nil
	}
	f, err := m.flag()
	if err != nil {
		return nil, err
	}
	v := op.ReadVariableOp(s, f.handle, tf.Bool)
	check := op.Assert(s.SubScope("assert"), op.LogicalNot(s.SubScope("not"), v), []tf.Output{op.Const(s.SubScope("message"), stopMessage)})
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("tfgraph: building a stop check: %w", err)
	}
	return check, nil
}

// raiseStop marks the Model stopped and raises its stop flag, so that the
// runs in flight fail at their next StopCheck.
func (m *Model) raiseStop() {
	m.aborted.Store(true)
	m.stopMu.Lock()
	f := m.stop
	m.stopMu.Unlock()
	if f == nil || m.Session == nil {
		return // no StopCheck in any graph: nothing to interrupt
	}
	m.Session.Run(nil, nil, []*tf.Operation{f.raise})
}
