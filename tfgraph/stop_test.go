package tfgraph

import (
	"context"
	"errors"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/internal/fixture"
)

// TestStopAbandonsRunThatNeverChecks: a run marked AbortOnCancel that
// never reaches a StopCheck after its context is cancelled — here it
// waits on an empty queue forever, as a run still being prepared by
// TensorFlow does for a minute — returns ErrAborted (wrapping the
// cause) instead of waiting, later runs are refused, and Close returns.
// Without the abandoning, Run blocks forever and the test times out:
// no clock decides the outcome.
func TestStopAbandonsRunThatNeverChecks(t *testing.T) {
	f := fixture.Load(t, "resnet")
	m, err := Load(f.ModelDir, LoadOptions{Device: DeviceCPU})
	if err != nil {
		t.Fatal(err)
	}
	s := op.NewScopeWithGraph(m.Graph).SubScope("test_never")
	q := op.FIFOQueueV2(s, []tf.DataType{tf.Float})
	never := op.QueueDequeueV2(s, q, []tf.DataType{tf.Float})[0]
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	// A stop check exists, as in a chunked method's graph, so that
	// cancelling raises the flag; the queue's run never reads it.
	if _, err := m.StopCheck(op.NewScopeWithGraph(m.Graph).SubScope("test_check")); err != nil {
		t.Fatal(err)
	}
	stopped := errors.New("test: stopped")
	ctx, cancel := context.WithCancelCause(AbortOnCancel(context.Background()))
	go cancel(stopped)
	_, err = m.Run(ctx, nil, []tf.Output{never})
	if !errors.Is(err, ErrAborted) || !errors.Is(err, stopped) {
		t.Fatalf("Run after the stop: %v, want ErrAborted wrapping the cause", err)
	}
	if _, err := m.Run(context.Background(), nil, []tf.Output{never}); !errors.Is(err, ErrAborted) {
		t.Errorf("a run after the abort: %v, want ErrAborted", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close after an abandoned run: %v", err)
	}
}
