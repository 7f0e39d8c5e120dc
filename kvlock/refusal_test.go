package kvlock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvlock/driver"
)

// refusingLocker refuses every Acquire, naming holder as the holder.
type refusingLocker struct {
	bareLocker
	holder driver.Lease
}

func (r refusingLocker) Acquire(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (driver.Lease, bool, error) {
	return r.holder, false, nil
}

// TestAcquireRefusalNamesHolder: a refusal reaches the caller only if it
// names another owner that holds the lease now; one that names nobody, the
// caller itself or an expired holder (a driver that read a stale row) is
// ErrChangedHands, with nothing granted.
func TestAcquireRefusalNamesHolder(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return at }
	held := driver.Lease{Name: "n", Owner: "bob", Token: 3, Expires: at.Add(time.Second), Acquired: at.Add(-time.Minute)}
	cases := []struct {
		name   string
		holder driver.Lease
		ok     bool
	}{
		{"held by another", held, true},
		{"held for a microsecond more", func() driver.Lease { h := held; h.Expires = at.Add(time.Microsecond); return h }(), true},
		{"released", driver.Lease{Name: "n", Token: 3}, false},
		{"no owner", func() driver.Lease { h := held; h.Owner = ""; return h }(), false},
		{"the caller", func() driver.Lease { h := held; h.Owner = "alice"; return h }(), false},
		{"expired now", func() driver.Lease { h := held; h.Expires = at; return h }(), false},
		{"expired before", func() driver.Lease { h := held; h.Expires = at.Add(-time.Hour); return h }(), false},
		{"zero", driver.Lease{}, false},
	}
	for _, c := range cases {
		l, err := kvlock.New(refusingLocker{holder: c.holder}, kvlock.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		le, ok, err := l.Acquire(context.Background(), "n", "alice", time.Minute)
		if ok {
			t.Errorf("%s: granted", c.name)
		}
		if c.ok {
			if err != nil || le.Owner != c.holder.Owner || !le.Expires.Equal(c.holder.Expires) || !le.Acquired.Equal(c.holder.Acquired) {
				t.Errorf("%s: %+v, %v; want the holder %+v", c.name, le, err, c.holder)
			}
			continue
		}
		if !errors.Is(err, kvlock.ErrChangedHands) || le != (kvlock.Lease{}) {
			t.Errorf("%s: %+v, %v; want ErrChangedHands", c.name, le, err)
		}
	}
}
