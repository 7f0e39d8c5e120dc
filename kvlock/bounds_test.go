package kvlock_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvlock/driver"
)

// grantingLocker grants every Acquire and keeps the expiry it stored.
type grantingLocker struct {
	bareLocker
	calls   int
	expires time.Time
}

func (g *grantingLocker) Acquire(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (driver.Lease, bool, error) {
	g.calls++
	g.expires = now.Add(ttl)
	return driver.Lease{Name: name, Owner: owner, Token: 1, Expires: g.expires, Acquired: now}, true, nil
}

// TestDurationBounds: a lease lasts at least MinDuration and ends no later
// than kvcore.MaxTime, the latest time kv stores, and the clock's reading
// is within kvcore.MinTime to kvcore.MaxTime; just inside is granted, just
// outside is an error that gives the limit and reaches no backend.
func TestDurationBounds(t *testing.T) {
	max := kvcore.MaxTime
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name  string
		clock time.Time
		d     time.Duration
		ok    bool
		limit string // in the error
	}{
		{"the shortest", at, kvlock.MinDuration, true, ""},
		{"shorter", at, kvlock.MinDuration - time.Nanosecond, false, "1ms"},
		{"zero", at, 0, false, "1ms"},
		{"negative", at, -time.Hour, false, "1ms"},
		{"the longest Duration", at, time.Duration(1<<63 - 1), true, ""},
		{"ending at MaxTime", max.Add(-time.Hour), time.Hour, true, ""},
		{"ending 1µs past MaxTime", max.Add(-time.Hour), time.Hour + time.Microsecond, false, "9999-12-31T23:59:59.999999Z"},
		{"the longest Duration near MaxTime", max.Add(-time.Hour), time.Duration(1<<63 - 1), false, "9999-12-31T23:59:59.999999Z"},
		{"a clock past MaxTime", max.Add(time.Microsecond), time.Second, false, "9999-12-31T23:59:59.999999Z"},
		{"a clock before MinTime", kvcore.MinTime.Add(-2 * time.Microsecond), time.Second, false, "0001-01-01T00:00:00.000001Z"},
	}
	for _, c := range cases {
		g := &grantingLocker{}
		l, err := kvlock.New(g, kvlock.WithClock(func() time.Time { return c.clock }))
		if err != nil {
			t.Fatal(err)
		}
		_, ok, err := l.Acquire(context.Background(), "n", "o", c.d)
		switch {
		case c.ok && (err != nil || !ok || g.expires.After(max)):
			t.Errorf("%s: %v %v, expires %v", c.name, ok, err, g.expires)
		case c.ok:
		case !errors.Is(err, kvlock.ErrInvalidArgument) || !strings.Contains(err.Error(), c.limit):
			t.Errorf("%s: %v, want ErrInvalidArgument naming %s", c.name, err, c.limit)
		case g.calls != 0:
			t.Errorf("%s: the backend was asked", c.name)
		}
	}
	// Hold takes the same bounds.
	l, err := kvlock.New(&grantingLocker{}, kvlock.WithClock(func() time.Time { return max }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Hold(context.Background(), "n", "o", time.Second); !errors.Is(err, kvlock.ErrInvalidArgument) {
		t.Errorf("Hold past MaxTime: %v", err)
	}
}
