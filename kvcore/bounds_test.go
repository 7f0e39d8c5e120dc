package kvcore_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

// applyingDriver accepts every batch (its records are absent) and keeps
// the last one.
type applyingDriver struct {
	bareDriver
	last *driver.Batch
}

func (d *applyingDriver) Apply(ctx context.Context, b driver.Batch) ([]driver.Result, error) {
	d.last = &b
	res := make([]driver.Result, len(b.Ops))
	for i := range res {
		res[i] = driver.Result{Rows: 1}
	}
	return res, nil
}

func (d *applyingDriver) Query(ctx context.Context, sel driver.Selector, now time.Time) ([]driver.Record, error) {
	return nil, nil
}

func (d *applyingDriver) Sweep(ctx context.Context, now time.Time, limit int) (int64, error) {
	return 0, nil
}

// TestTimeBounds: every time the store writes (an expiry from WithExpiry or
// WithTTL, the clock's reading, a restored record's times) is from MinTime
// to MaxTime; just inside is written, just outside is an error that gives
// the bounds and writes nothing.
func TestTimeBounds(t *testing.T) {
	ctx := context.Background()
	const us = time.Microsecond
	max, min := kvcore.MaxTime, kvcore.MinTime
	beforeMax := max.Add(-time.Hour) // the clock of most cases
	cases := []struct {
		name  string
		clock time.Time
		write func(s *kvcore.Store) error
		ok    bool
	}{
		{"expiry at MaxTime", beforeMax, put(kvcore.WithExpiry(max)), true},
		{"expiry 1µs past MaxTime", beforeMax, put(kvcore.WithExpiry(max.Add(us))), false},
		{"expiry in year 10000", beforeMax, put(kvcore.WithExpiry(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))), false},
		{"expiry in year 294277", beforeMax, put(kvcore.WithExpiry(time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC))), false},
		{"expiry in year 300000 (patch)", beforeMax, patch(kvcore.WithExpiry(time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC))), false},
		{"TTL to MaxTime", beforeMax, put(kvcore.WithTTL(time.Hour)), true},
		{"TTL 1µs past MaxTime", beforeMax, put(kvcore.WithTTL(time.Hour + us)), false},
		{"the longest TTL", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), put(kvcore.WithTTL(time.Duration(1<<63 - 1))), true},
		{"the longest TTL near MaxTime", beforeMax, put(kvcore.WithTTL(time.Duration(1<<63 - 1))), false},
		{"touch to MaxTime", beforeMax, func(s *kvcore.Store) error { return s.Touch(ctx, "k", time.Hour) }, true},
		{"touch past MaxTime", beforeMax, func(s *kvcore.Store) error { return s.Touch(ctx, "k", time.Hour+us) }, false},
		{"clock at MaxTime", max, put(), true},
		{"clock 1µs past MaxTime", max.Add(us), put(), false},
		{"clock in year 10000, delete", time.Date(10000, 6, 1, 0, 0, 0, 0, time.UTC), func(s *kvcore.Store) error { _, err := s.Delete(ctx, "k"); return err }, false},
		{"clock at MinTime", min, put(), true},
		{"clock 1µs before MinTime", min.Add(-us), put(), false},
		{"clock past MaxTime, sweep", max.Add(us), func(s *kvcore.Store) error { _, err := s.Sweep(ctx); return err }, false},
		{"clock at MaxTime, sweep", max, func(s *kvcore.Store) error { _, err := s.Sweep(ctx); return err }, true},
		{"restore created at MaxTime", beforeMax, restore(func(r *kvcore.Record) { r.Created, r.Updated = max, max }), true},
		{"restore created past MaxTime", beforeMax, restore(func(r *kvcore.Record) { r.Created, r.Updated = max.Add(us), max.Add(us) }), false},
		{"restore updated past MaxTime", beforeMax, restore(func(r *kvcore.Record) { r.Updated = max.Add(us) }), false},
		{"restore created at MinTime", beforeMax, restore(func(r *kvcore.Record) { r.Created = min }), true},
		{"restore created before the zero time", beforeMax, restore(func(r *kvcore.Record) { r.Created = min.Add(-2 * us) }), false},
		{"restore expiring at MaxTime", beforeMax, restore(func(r *kvcore.Record) { e := max; r.Expires = &e }), true},
		{"restore expiring in year 10000", beforeMax, restore(func(r *kvcore.Record) {
			e := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
			r.Expires = &e
		}), false},
		{"restore with a clock past MaxTime", max.Add(us), restore(func(*kvcore.Record) {}), false},
	}
	for _, c := range cases {
		d := &applyingDriver{}
		s, err := kvcore.New(d, kvcore.WithSweepInterval(0), kvcore.WithClock(func() time.Time { return c.clock }))
		if err != nil {
			t.Fatal(err)
		}
		err = c.write(s)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.ok && d.last != nil:
			for _, op := range d.last.Ops {
				for _, tm := range []time.Time{op.Expires, op.Created, op.Updated, d.last.Now} {
					if !tm.IsZero() && (tm.Before(min) || tm.After(max)) {
						t.Errorf("%s: wrote %v", c.name, tm)
					}
				}
			}
		case c.ok:
		case !errors.Is(err, kvcore.ErrInvalidArgument) || !strings.Contains(err.Error(), "9999-12-31T23:59:59.999999Z"):
			t.Errorf("%s: %v, want ErrInvalidArgument naming the bounds", c.name, err)
		case d.last != nil:
			t.Errorf("%s: wrote %+v", c.name, d.last)
		}
	}
}

func put(opts ...kvcore.WriteOption) func(s *kvcore.Store) error {
	return func(s *kvcore.Store) error { return s.Put(context.Background(), "k", -1, 1, opts...) }
}

func patch(opts ...kvcore.WriteOption) func(s *kvcore.Store) error {
	return func(s *kvcore.Store) error {
		return s.Patch(context.Background(), "k", -1, json.RawMessage(`{}`), opts...)
	}
}

// restore restores a record that edit changes.
func restore(edit func(r *kvcore.Record)) func(s *kvcore.Store) error {
	return func(s *kvcore.Store) error {
		at := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		r := kvcore.Record{Key: "k", Version: 1, Value: json.RawMessage(`1`), Created: at, Updated: at}
		edit(&r)
		return s.Restore(context.Background(), r)
	}
}

// TestMaxValueSizeBounds: WithMaxValueSize takes 1 to MaxValueSizeLimit.
func TestMaxValueSizeBounds(t *testing.T) {
	for _, c := range []struct {
		n  int
		ok bool
	}{{1, true}, {kvcore.MaxValueSizeLimit, true}, {0, false}, {-1, false}, {kvcore.MaxValueSizeLimit + 1, false}, {1<<63 - 1, false}} {
		_, err := kvcore.New(bareDriver{}, kvcore.WithSweepInterval(0), kvcore.WithMaxValueSize(c.n))
		if c.ok != (err == nil) || !c.ok && (!errors.Is(err, kvcore.ErrInvalidArgument) || !strings.Contains(err.Error(), "1000000000")) {
			t.Errorf("WithMaxValueSize(%d): %v", c.n, err)
		}
	}
}
