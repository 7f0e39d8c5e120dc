package kvlock_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvlock/driver"
)

// lateLocker is memLocker whose renewals (acquires after the first) stall
// like a statement on a server: a cancelled caller gets ctx.Err() at once,
// but the statement still takes effect once apply is closed.
type lateLocker struct {
	*memLocker
	calls    atomic.Int32
	entered  chan struct{} // a renewal reached the "server"
	apply    chan struct{} // closed: the stalled renewal takes effect
	canceled chan struct{} // closed if the renewal's caller gave up
}

func (m *lateLocker) Acquire(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (driver.Lease, bool, error) {
	if m.calls.Add(1) != 2 {
		return m.memLocker.Acquire(ctx, name, owner, now, ttl)
	}
	close(m.entered)
	select {
	case <-m.apply:
		return m.memLocker.Acquire(ctx, name, owner, now, ttl)
	case <-ctx.Done():
		close(m.canceled)
		go func() {
			<-m.apply
			_, _, _ = m.memLocker.Acquire(context.Background(), name, owner, now, ttl)
		}()
		return driver.Lease{}, false, ctx.Err()
	}
}

// TestHoldReleaseWaitsForRenewal: Release does not cancel a renewal in
// flight (which could still take effect after the release and hold the
// lease again); it waits for it, then releases.
func TestHoldReleaseWaitsForRenewal(t *testing.T) {
	ctx := context.Background()
	d := &lateLocker{memLocker: &memLocker{leases: map[string]driver.Lease{}},
		entered: make(chan struct{}), apply: make(chan struct{}), canceled: make(chan struct{})}
	l, err := kvlock.New(d)
	if err != nil {
		t.Fatal(err)
	}
	h, err := l.Hold(ctx, "job", "alice", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	<-d.entered
	released := make(chan error, 1)
	go func() { released <- h.Release(ctx) }()
	select {
	case <-d.canceled:
		t.Error("Release cancelled the renewal in flight")
	case <-time.After(100 * time.Millisecond): // no cancellation: the renewal is waited for
	}
	close(d.apply)
	if err := <-released; err != nil {
		t.Fatalf("release: %v", err)
	}
	time.Sleep(10 * time.Millisecond) // let a cancelled renewal take effect, as a server would
	le, _, err := l.Status(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	if le.Owner != "" {
		t.Errorf("after Release the lease is held by %q", le.Owner)
	}
}
