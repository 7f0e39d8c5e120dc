package kvlock_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvlock/driver"
)

// memLocker is a toy in-memory driver, so that this example runs without a
// database. Real programs pass a backend (sqlitekv, postgreskv or rqlitekv:
// see backend-sqlite's Example_lease and Example_fencing).
type memLocker struct {
	mu     sync.Mutex
	leases map[string]driver.Lease
}

func (m *memLocker) Acquire(_ context.Context, name, owner string, now time.Time, ttl time.Duration) (driver.Lease, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.leases[name]
	held := l.Owner != "" && l.Expires.After(now)
	if held && l.Owner != owner {
		return l, false, nil
	}
	if !held {
		l.Token++ // a new grant: the fencing token grows
	}
	l.Name, l.Owner, l.Expires = name, owner, now.Add(ttl)
	m.leases[name] = l
	return l, true, nil
}

func (m *memLocker) Release(_ context.Context, name, owner string, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.leases[name]
	if !ok || l.Owner != owner || !l.Expires.After(now) {
		return false, nil
	}
	l.Owner, l.Expires = "", time.Time{}
	m.leases[name] = l
	return true, nil
}

func (m *memLocker) Lease(_ context.Context, name string) (driver.Lease, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.leases[name]
	return l, ok, nil
}

// A lease has one holder at a time; every new grant carries a larger
// fencing token, which a holder passes to kvcore's Store.WithFence so that
// a stale holder's writes are refused.
func Example() {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	locker, err := kvlock.New(&memLocker{leases: map[string]driver.Lease{}},
		kvlock.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}

	l, ok, _ := locker.Acquire(ctx, "nightly-report", "worker-1", time.Minute)
	fmt.Println("worker-1 got it:", ok, "token", l.Token)

	l, ok, _ = locker.Acquire(ctx, "nightly-report", "worker-2", time.Minute)
	fmt.Println("worker-2 got it:", ok, "held by", l.Owner)

	now = now.Add(2 * time.Minute) // worker-1 stalled and its lease expired
	l, ok, _ = locker.Acquire(ctx, "nightly-report", "worker-2", time.Minute)
	fmt.Println("worker-2 got it:", ok, "token", l.Token)

	released, _ := locker.Release(ctx, "nightly-report", "worker-1")
	fmt.Println("worker-1 could release it:", released)

	_, _, err = locker.Acquire(ctx, "", "worker-3", time.Minute)
	fmt.Println(err != nil)
	// Output:
	// worker-1 got it: true token 1
	// worker-2 got it: false held by worker-1
	// worker-2 got it: true token 2
	// worker-1 could release it: false
	// true
}
