package kvcore

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
)

// recordingDriver answers every query with no rows and every write with
// one row affected, or failErr when it is set.
type recordingDriver struct {
	driver.Store
	failErr error
}

func (d *recordingDriver) Query(context.Context, driver.Selector, time.Time) ([]driver.Record, error) {
	return nil, d.failErr
}

func (d *recordingDriver) Count(context.Context, driver.Selector, time.Time) (int64, error) {
	return 0, d.failErr
}

func (d *recordingDriver) Apply(_ context.Context, b driver.Batch) ([]driver.Result, error) {
	if d.failErr != nil {
		return nil, d.failErr
	}
	return make([]driver.Result, len(b.Ops)), nil
}

// observed is what an Observer was told.
type observed struct {
	op  string
	err error
}

type observations struct {
	mu  sync.Mutex
	got []observed
}

func (o *observations) observe(op string, d time.Duration, err error) {
	if d < 0 {
		panic("negative duration")
	}
	o.mu.Lock()
	o.got = append(o.got, observed{op, err})
	o.mu.Unlock()
}

func (o *observations) ops() []string {
	var ops []string
	for _, g := range o.got {
		ops = append(ops, g.op)
	}
	return ops
}

// Each public operation reports itself once, under the name its errors
// carry, from every namespace view, with the error it returned.
func TestObserverSeesEachOperation(t *testing.T) {
	ctx := context.Background()
	d := &recordingDriver{}
	var o observations
	s, err := New(d, WithObserver(o.observe), WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Namespace("other")
	if err != nil {
		t.Fatal(err)
	}
	_, _, _ = s.Get(ctx, "a", nil)
	_, _ = s.GetBatch(ctx, "a", "b")
	_, _ = s.GetPrefix(ctx, "a", 0, 10)
	_, _ = s.List(ctx, 0, 10)
	_, _ = s.Count(ctx)
	_ = other.Put(ctx, "a", -1, 1)
	_ = s.Patch(ctx, "a", -1, map[string]any{"x": 1})
	_, _ = s.Delete(ctx, "a")
	_, _ = s.DeletePrefix(ctx, "a", 0, 0)
	_, _ = s.MutateAll(ctx, Put("a", -1, 1), Delete("b"))
	for range s.AllPrefix(ctx, "a") {
	}
	want := []string{"get", "get batch", "get prefix", "list", "count", "put", "patch", "delete", "delete prefix", "mutate", "scan"}
	if got := o.ops(); !slices.Equal(got, want) {
		t.Fatalf("observed %q, want %q", got, want)
	}
	for _, g := range o.got {
		if g.err != nil {
			t.Errorf("%s observed error %v on success", g.op, g.err)
		}
	}

	// Errors, the front's own (bad input) and the driver's, are reported
	// as returned.
	o.got = nil
	if err := s.Put(ctx, "", -1, 1); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("Put of an empty key: %v", err)
	}
	d.failErr = ErrClosed
	_, _, getErr := s.Get(ctx, "a", nil)
	for range s.All(ctx) {
	}
	if len(o.got) != 3 || !errors.Is(o.got[0].err, ErrInvalidKey) || !errors.Is(o.got[1].err, ErrClosed) ||
		o.got[1].err != getErr || o.got[2].op != "scan" || !errors.Is(o.got[2].err, ErrClosed) {
		t.Fatalf("observed %v", o.got)
	}
}

func TestWithObserverNil(t *testing.T) {
	if _, err := New(&recordingDriver{}, WithObserver(nil)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("WithObserver(nil): %v", err)
	}
}

// BenchmarkObserver is the cost of a Get on a driver that does nothing,
// without an observer (the baseline) and with one.
func BenchmarkObserver(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		opts []Option
	}{
		{"none", nil},
		{"set", []Option{WithObserver(func(string, time.Duration, error) {})}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := New(&recordingDriver{}, append(c.opts, WithSweepInterval(0))...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Get(ctx, "key", nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
