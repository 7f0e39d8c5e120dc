package kvstream

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	coredriver "github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream/driver"
)

// readingStream answers every Read with nothing, keeping the query.
type readingStream struct {
	fakeStream
	q     *driver.Query
	calls int
}

func (r *readingStream) Read(ctx context.Context, q driver.Query) ([]driver.Record, int64, int64, error) {
	r.q, r.calls = &q, r.calls+1
	return nil, 0, 0, nil
}

func (r *readingStream) CreateConsumer(ctx context.Context, name string, position int64, now time.Time) (driver.Consumer, error) {
	r.calls++
	return driver.Consumer{Name: name, Position: position, Updated: now}, nil
}

func (r *readingStream) Commit(ctx context.Context, name string, position int64, fence *coredriver.Fence, now time.Time) error {
	r.calls++
	return nil
}

// TestLimitBounds: a read's limit is 1 to MaxLimit (0: MaxLimit), a
// consumer's batch size 1 to MaxLimit and its lease at least
// kvlock.MinDuration; just inside is accepted, just outside is an error
// that gives the limit and reaches no backend.
func TestLimitBounds(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		limit, sent int // sent: the limit the driver got (0: an error)
	}{{0, MaxLimit}, {1, 1}, {MaxLimit, MaxLimit}, {-1, 0}, {MaxLimit + 1, 0}, {1<<63 - 1, 0}} {
		d := &readingStream{}
		s, err := New(d)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Read(ctx, 0, c.limit)
		switch {
		case c.sent > 0 && (err != nil || d.q == nil || d.q.Limit != c.sent):
			t.Errorf("Read limit %d: %v, query %+v; want limit %d", c.limit, err, d.q, c.sent)
		case c.sent == 0 && (!errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "want 1 to 10000") || d.calls != 0):
			t.Errorf("Read limit %d: %v, %d driver calls; want ErrInvalidArgument naming 1 to %d", c.limit, err, d.calls, MaxLimit)
		}
	}
	s, err := New(&readingStream{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opt  ConsumerOption
		ok   bool
		want string
	}{
		{"batch 1", BatchSize(1), true, ""},
		{"batch MaxLimit", BatchSize(MaxLimit), true, ""},
		{"batch 0", BatchSize(0), false, "want 1 to 10000"},
		{"batch MaxLimit+1", BatchSize(MaxLimit + 1), false, "want 1 to 10000"},
		{"lease MinDuration", LeaseDuration(kvlock.MinDuration), true, ""},
		{"lease shorter", LeaseDuration(kvlock.MinDuration - time.Nanosecond), false, "shorter than 1ms"},
		{"lease negative", LeaseDuration(-time.Second), false, "shorter than 1ms"},
	} {
		_, err := s.Consumer("c", c.opt)
		if c.ok != (err == nil) || !c.ok && (!errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want ok %v or an error naming %q", c.name, err, c.ok, c.want)
		}
	}
}

// TestClockBounds: a consumer's position is stored with the clock's
// reading, which must be from kvcore.MinTime to kvcore.MaxTime.
func TestClockBounds(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		clock time.Time
		ok    bool
	}{{kvcore.MaxTime, true}, {kvcore.MaxTime.Add(time.Microsecond), false}, {kvcore.MinTime, true}, {kvcore.MinTime.Add(-2 * time.Microsecond), false}} {
		d := &readingStream{}
		s, err := New(d, WithClock(func() time.Time { return c.clock }))
		if err != nil {
			t.Fatal(err)
		}
		err = s.SetPosition(ctx, "c", 1)
		if c.ok != (err == nil) || !c.ok && (!errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "9999-12-31T23:59:59.999999Z") || d.calls != 0) {
			t.Errorf("SetPosition at %v: %v (%d driver calls)", c.clock, err, d.calls)
		}
	}
}
