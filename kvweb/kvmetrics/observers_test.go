package kvmetrics

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask"
)

func TestStoreResult(t *testing.T) {
	for err, want := range map[error]string{
		nil: "ok",
		fmt.Errorf("x: %w", kvcore.ErrVersionMismatch): "conflict",
		kvcore.ErrFenced:               "conflict",
		kvcore.ErrInvalidKey:           "invalid",
		kvcore.ErrInvalidValue:         "invalid",
		kvcore.ErrInvalidArgument:      "invalid",
		kvcore.ErrClosed:               "error",
		errors.New("connection reset"): "error",
	} {
		if got := storeResult(err); got != want {
			t.Errorf("storeResult(%v) = %s, want %s", err, got, want)
		}
	}
}

// An attempt whose outcome was not recorded counts as unrecorded; an
// attempt whose handler did not run is counted but not timed.
func TestTaskMetrics(t *testing.T) {
	m := NewTaskMetrics()
	task := kvtask.Task{Name: "mail"}
	m.Observe(kvtask.Attempt{Task: task, Outcome: kvtask.AttemptCompleted, Duration: time.Second})
	m.Observe(kvtask.Attempt{Task: task, Outcome: kvtask.AttemptCompleted, Duration: time.Second, Err: errors.New("db down")})
	m.Observe(kvtask.Attempt{Task: task, Outcome: kvtask.AttemptGivenBack})
	for outcome, want := range map[string]float64{"completed": 1, "unrecorded": 1, "given_back": 1} {
		if got := testutil.ToFloat64(m.attempts.WithLabelValues("mail", outcome)); got != want {
			t.Errorf("attempts{mail,%s} = %v, want %v", outcome, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.dur); n != 2 {
		t.Errorf("%d duration series, want 2 (completed, unrecorded)", n)
	}
	s := NewStoreMetrics()
	s.Observe("put", time.Millisecond, nil)
	s.Observe("put", time.Millisecond, kvcore.ErrVersionMismatch)
	if got := testutil.ToFloat64(s.ops.WithLabelValues("put", "conflict")); got != 1 {
		t.Errorf("ops{put,conflict} = %v", got)
	}
}
