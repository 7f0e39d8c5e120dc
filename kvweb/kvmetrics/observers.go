package kvmetrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask"
)

// StoreMetrics counts a store's operations and times them. Give its
// Observe to kvcore.WithObserver and register it:
//
//	m := kvmetrics.NewStoreMetrics()
//	prometheus.MustRegister(m)
//	store, err := db.Store(kvcore.WithObserver(m.Observe))
type StoreMetrics struct {
	ops *prometheus.CounterVec
	dur *prometheus.HistogramVec
}

// OperationBuckets are the bounds, in seconds, of the store operations'
// duration histogram: 100µs to 10s.
var OperationBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewStoreMetrics returns the metrics kv_store_operations_total{op,result}
// and kv_store_operation_duration_seconds{op}.
func NewStoreMetrics() *StoreMetrics {
	return &StoreMetrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kv_store_operations_total",
			Help: "Store operations (kvcore) by name and result: ok, conflict (a version mismatch or a fenced write), invalid (bad input) or error.",
		}, []string{"op", "result"}),
		dur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kv_store_operation_duration_seconds",
			Help:    "How long store operations (kvcore) took, by name.",
			Buckets: OperationBuckets,
		}, []string{"op"}),
	}
}

// Observe is a kvcore.Observer that counts and times the operation.
func (m *StoreMetrics) Observe(op string, d time.Duration, err error) {
	m.ops.WithLabelValues(op, storeResult(err)).Inc()
	m.dur.WithLabelValues(op).Observe(d.Seconds())
}

// storeResult is the result label of an operation that returned err.
func storeResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, kvcore.ErrVersionMismatch), errors.Is(err, kvcore.ErrFenced):
		return "conflict"
	case errors.Is(err, kvcore.ErrInvalidKey), errors.Is(err, kvcore.ErrInvalidValue), errors.Is(err, kvcore.ErrInvalidArgument):
		return "invalid"
	default:
		return "error"
	}
}

// Describe sends the metrics' descriptions.
func (m *StoreMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.ops.Describe(ch)
	m.dur.Describe(ch)
}

// Collect sends the metrics.
func (m *StoreMetrics) Collect(ch chan<- prometheus.Metric) {
	m.ops.Collect(ch)
	m.dur.Collect(ch)
}

// TaskMetrics counts the attempts a task runner ran, by outcome, and times
// their handlers. Set a Runner's Observer to its Observe and register it:
//
//	m := kvmetrics.NewTaskMetrics()
//	prometheus.MustRegister(m)
//	runner.Observer = m.Observe
type TaskMetrics struct {
	attempts *prometheus.CounterVec
	dur      *prometheus.HistogramVec
}

// TaskBuckets are the bounds, in seconds, of the task handlers' duration
// histogram: 5ms to 15 minutes.
var TaskBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900}

// NewTaskMetrics returns the metrics kv_task_attempts_total{name,outcome}
// and kv_task_run_duration_seconds{name,outcome}.
func NewTaskMetrics() *TaskMetrics {
	return &TaskMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kv_task_attempts_total",
			Help: "Task attempts a runner ended, by task name and outcome: completed, retried, failed, cancelled, given_back, lost, or unrecorded (recording the outcome failed).",
		}, []string{"name", "outcome"}),
		dur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kv_task_run_duration_seconds",
			Help:    "How long task handlers ran, by task name and outcome (attempts whose handler did not run are left out).",
			Buckets: TaskBuckets,
		}, []string{"name", "outcome"}),
	}
}

// Observe is a kvtask.Runner Observer that counts the attempt and times
// its handler.
func (m *TaskMetrics) Observe(a kvtask.Attempt) {
	outcome := string(a.Outcome)
	if a.Err != nil {
		outcome = "unrecorded"
	}
	m.attempts.WithLabelValues(a.Task.Name, outcome).Inc()
	if a.Duration > 0 {
		m.dur.WithLabelValues(a.Task.Name, outcome).Observe(a.Duration.Seconds())
	}
}

// Describe sends the metrics' descriptions.
func (m *TaskMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.attempts.Describe(ch)
	m.dur.Describe(ch)
}

// Collect sends the metrics.
func (m *TaskMetrics) Collect(ch chan<- prometheus.Metric) {
	m.attempts.Collect(ch)
	m.dur.Collect(ch)
}
