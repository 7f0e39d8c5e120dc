package webtest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask"
	"github.com/kvsuite/kv/kvweb/kvmetrics"
)

// scrape fetches the metrics h serves and parses them with Prometheus's
// own text parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	must(t, err)
	return families
}

// sample returns the metric of family name whose labels are the pairs
// given (name, value, ...), or nil.
func sample(families map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		match := len(got) == len(labels)/2
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && got[labels[i]] == labels[i+1]
		}
		if match {
			return m
		}
	}
	return nil
}

// value is the value of a gauge or counter sample (-1 if there is none).
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := sample(families, name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return -1
}

// TestMetrics: on every backend, the collector reports the stream's head,
// consumers' lag, tasks by name and status and the leases held, and the
// observers count store operations by result and task attempts by
// outcome, with their durations; all read back with Prometheus's parser.
func TestMetrics(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			store := kvmetrics.NewStoreMetrics()
			attempts := kvmetrics.NewTaskMetrics()
			e := b.open(t, kvcore.WithObserver(store.Observe))
			reg := prometheus.NewRegistry()
			reg.MustRegister(kvmetrics.NewCollector(kvmetrics.Sources{Stream: e.stream, Tasks: e.tasks, Locker: e.locker}), store, attempts)

			for _, k := range []string{"a", "b", "c"} {
				must(t, e.store.Put(ctx, k, -1, 1))
			}
			if err := e.store.Put(ctx, "a", 7, 1); !errors.Is(err, kvcore.ErrVersionMismatch) {
				t.Fatalf("a put at the wrong version: %v", err)
			}
			if err := e.store.Put(ctx, "", -1, 1); !errors.Is(err, kvcore.ErrInvalidKey) {
				t.Fatalf("a put of an empty key: %v", err)
			}
			for range 2 {
				_, _, err := e.store.Get(ctx, "a", nil)
				must(t, err)
			}
			must(t, e.store.Patch(ctx, "b", -1, map[string]int{"x": 1}))
			must(t, e.stream.SetPosition(ctx, "c1", 2))
			_, _, err := e.locker.Acquire(ctx, "leader", "me", time.Hour)
			must(t, err)

			for _, name := range []string{"ok", "ok", "fail", "later"} {
				_, _, err := e.tasks.Enqueue(ctx, kvtask.NewTask(name, nil))
				must(t, err)
			}
			r := kvtask.NewRunner(e.tasks, "runner")
			r.PollInterval = 10 * time.Millisecond
			r.Observer = attempts.Observe
			r.RegisterHandler("ok", func(context.Context, kvtask.Task) error { time.Sleep(time.Millisecond); return nil })
			r.RegisterHandler("fail", func(context.Context, kvtask.Task) error { return errors.New("boom") })
			rctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			must(t, r.RunUntilIdle(rctx))

			m := scrape(t, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
			head, err := e.stream.Seq(ctx)
			must(t, err)
			for _, c := range []struct {
				name   string
				labels []string
				want   float64
			}{
				{"kv_stream_head_seq", nil, float64(head)},
				{"kv_stream_first_seq", nil, 1},
				{"kv_stream_consumer_position", []string{"consumer", "c1"}, 2},
				{"kv_stream_consumer_lag", []string{"consumer", "c1"}, float64(head - 2)},
				{"kv_stream_consumer_lease_held", []string{"consumer", "c1"}, 0},
				{"kv_leases_held", nil, 1},
				{"kv_tasks", []string{"name", "ok", "status", "completed"}, 2},
				{"kv_tasks", []string{"name", "ok", "status", "pending"}, 0},
				{"kv_tasks", []string{"name", "fail", "status", "failed"}, 1},
				{"kv_tasks", []string{"name", "later", "status", "pending"}, 1},
				{"kv_task_attempts_total", []string{"name", "ok", "outcome", "completed"}, 2},
				{"kv_task_attempts_total", []string{"name", "fail", "outcome", "failed"}, 1},
				{"kv_store_operations_total", []string{"op", "put", "result", "ok"}, 3},
				{"kv_store_operations_total", []string{"op", "put", "result", "conflict"}, 1},
				{"kv_store_operations_total", []string{"op", "put", "result", "invalid"}, 1},
				{"kv_store_operations_total", []string{"op", "get", "result", "ok"}, 2},
				{"kv_store_operations_total", []string{"op", "patch", "result", "ok"}, 1},
			} {
				if got := value(m, c.name, c.labels...); got != c.want {
					t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
				}
			}
			if n := len(m["kv_tasks"].GetMetric()); n != 15 {
				t.Errorf("kv_tasks has %d series, want every status of 3 names: 15", n)
			}
			h := sample(m, "kv_task_run_duration_seconds", "name", "ok", "outcome", "completed")
			if h == nil || h.Histogram.GetSampleCount() != 2 || h.Histogram.GetSampleSum() < 0.002 {
				t.Errorf("kv_task_run_duration_seconds{ok,completed} = %v: want 2 samples of at least 1ms", h)
			}
			h = sample(m, "kv_store_operation_duration_seconds", "op", "put")
			if h == nil || h.Histogram.GetSampleCount() != 5 || len(h.Histogram.Bucket) != len(kvmetrics.OperationBuckets)+1 {
				t.Errorf("kv_store_operation_duration_seconds{put} = %v: want 5 samples in each bucket and +Inf", h)
			}
			if m["kv_store_operation_duration_seconds"].GetType() != dto.MetricType_HISTOGRAM || m["kv_tasks"].GetType() != dto.MetricType_GAUGE ||
				m["kv_task_attempts_total"].GetType() != dto.MetricType_COUNTER {
				t.Error("a metric has the wrong type")
			}

			// A source that fails makes the scrape fail, naming the error.
			must(t, e.db.Close())
			_, err = reg.Gather()
			if err == nil || !strings.Contains(err.Error(), "closed") {
				t.Errorf("gathering from a closed database: %v", err)
			}
		})
	}
}
