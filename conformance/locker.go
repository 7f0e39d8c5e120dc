package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
)

type lockEnv struct {
	store  *kvcore.Store
	locker *kvlock.Locker
	clock  *Clock
}

func newLockEnv(t *testing.T, f BackendFactory) lockEnv {
	t.Helper()
	b := f(t)
	require.NotNil(t, b.Locker, "the backend has no Locker")
	clock := NewClock(time.Time{})
	s, err := kvcore.New(b.Store, kvcore.WithClock(clock.Now), kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	l, err := kvlock.New(b.Locker, kvlock.WithClock(clock.Now))
	require.NoError(t, err)
	return lockEnv{store: s, locker: l, clock: clock}
}

// RunLocker runs the kvlock suite: granting, extending, expiry, release,
// tokens that grow at every hand-over, contention, fenced writes and Hold.
func RunLocker(t *testing.T, h Harness) {
	f := h.New
	t.Run("AcquireExtend", func(t *testing.T) { testLockAcquire(t, f) })
	t.Run("Expiry", func(t *testing.T) { testLockExpiry(t, f) })
	t.Run("Release", func(t *testing.T) { testLockRelease(t, f) })
	t.Run("BadInput", func(t *testing.T) { testLockBadInput(t, f) })
	t.Run("Contention", func(t *testing.T) { testLockContention(t, f) })
	t.Run("FencedWrites", func(t *testing.T) { testLockFence(t, f) })
	t.Run("Hold", func(t *testing.T) { testLockHold(t, f) })
	t.Run("HoldLost", func(t *testing.T) { testLockHoldLost(t, f) })
	t.Run("List", func(t *testing.T) { testLockList(t, f) })
	t.Run("TimeBounds", func(t *testing.T) { testLockTimeBounds(t, f) })
}

func testLockAcquire(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newLockEnv(t, f)
	now := e.clock.Now()
	le, ok, err := e.locker.Acquire(ctx, "job", "alice", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "alice", le.Owner)
	require.Equal(t, int64(1), le.Token)
	require.True(t, le.Expires.Equal(now.Add(time.Minute)))
	require.True(t, le.Acquired.Equal(now), "acquired when granted: %v", le.Acquired)
	require.Equal(t, time.UTC, le.Acquired.Location())

	st, held, err := e.locker.Status(ctx, "job")
	require.NoError(t, err)
	require.True(t, held)
	require.Equal(t, le, st)

	// The same owner extends, keeping the token.
	e.clock.Advance(30 * time.Second)
	le2, ok, err := e.locker.Acquire(ctx, "job", "alice", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(1), le2.Token)
	require.True(t, le2.Expires.Equal(now.Add(90*time.Second)))
	require.True(t, le2.Acquired.Equal(now), "an extension keeps the acquisition time")
	st, _, err = e.locker.Status(ctx, "job")
	require.NoError(t, err)
	require.Equal(t, le2, st)

	// Another owner is refused and told who holds it, since when and until
	// when.
	le3, ok, err := e.locker.Acquire(ctx, "job", "bob", time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, le2, le3)

	// Leases are independent of each other.
	le4, ok, err := e.locker.Acquire(ctx, "other", "bob", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(1), le4.Token)

	_, held, err = e.locker.Status(ctx, "never")
	require.NoError(t, err)
	require.False(t, held)
}

func testLockExpiry(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newLockEnv(t, f)
	_, ok, err := e.locker.Acquire(ctx, "job", "alice", 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	e.clock.Advance(10 * time.Second) // held while expiry is after now
	st, held, err := e.locker.Status(ctx, "job")
	require.NoError(t, err)
	require.False(t, held, "an expired lease is not held")
	require.Equal(t, int64(1), st.Token)

	require.True(t, st.Acquired.Equal(st.Expires.Add(-10*time.Second)), "an expired lease keeps its last acquisition time")
	le, ok, err := e.locker.Acquire(ctx, "job", "bob", 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok, "an expired lease can be taken")
	require.Equal(t, int64(2), le.Token, "the token grows when the lease changes hands")
	require.True(t, le.Acquired.Equal(e.clock.Now()), "and its acquisition time is the new holder's")
	_, ok, err = e.locker.Acquire(ctx, "job", "alice", 10*time.Second)
	require.NoError(t, err)
	require.False(t, ok)

	// The same owner re-acquiring after its own lease expired gets a new
	// token and a new acquisition time.
	e.clock.Advance(11 * time.Second)
	le, ok, err = e.locker.Acquire(ctx, "job", "bob", 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(3), le.Token)
	require.True(t, le.Acquired.Equal(e.clock.Now()))
}

func testLockRelease(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newLockEnv(t, f)
	_, _, err := e.locker.Acquire(ctx, "job", "alice", time.Minute)
	require.NoError(t, err)
	ok, err := e.locker.Release(ctx, "job", "bob")
	require.NoError(t, err)
	require.False(t, ok, "only the holder can release")
	_, held, err := e.locker.Status(ctx, "job")
	require.NoError(t, err)
	require.True(t, held)

	ok, err = e.locker.Release(ctx, "job", "alice")
	require.NoError(t, err)
	require.True(t, ok)
	st, held, err := e.locker.Status(ctx, "job")
	require.NoError(t, err)
	require.False(t, held)
	require.Equal(t, kvlock.Lease{Name: "job", Token: 1}, st, "a released lease keeps only its token")
	ok, err = e.locker.Release(ctx, "job", "alice")
	require.NoError(t, err)
	require.False(t, ok, "releasing twice")

	e.clock.Advance(time.Second)
	le, ok, err := e.locker.Acquire(ctx, "job", "alice", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(2), le.Token, "a released lease changes hands when taken again")
	require.True(t, le.Acquired.Equal(e.clock.Now()), "taken again: acquired anew")

	// Releasing an expired lease does nothing.
	e.clock.Advance(2 * time.Minute)
	ok, err = e.locker.Release(ctx, "job", "alice")
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = e.locker.Release(ctx, "never", "alice")
	require.NoError(t, err)
	require.False(t, ok)
}

func testLockBadInput(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newLockEnv(t, f)
	for _, c := range []struct {
		name, owner string
		d           time.Duration
	}{
		{"", "a", time.Second}, {"n", "", time.Second}, {"n", "a", 0}, {"n", "a", -time.Second},
		{"n\x00", "a", time.Second}, {"n", "a\xff", time.Second}, {string(make([]byte, 1025)), "a", time.Second},
	} {
		_, _, err := e.locker.Acquire(ctx, c.name, c.owner, c.d)
		require.ErrorIs(t, err, kvlock.ErrInvalidArgument, "%q %q %v", c.name, c.owner, c.d)
	}
	_, err := e.locker.Release(ctx, "", "a")
	require.ErrorIs(t, err, kvlock.ErrInvalidArgument)
	_, _, err = e.locker.Status(ctx, "")
	require.ErrorIs(t, err, kvlock.ErrInvalidArgument)
	_, held, err := e.locker.Status(ctx, "n")
	require.NoError(t, err)
	require.False(t, held, "bad input changed nothing")
}

// testLockContention: many goroutines contend for one lease; holders never
// overlap, each new holder's token is above every earlier one, and every
// refusal names a real holder (another owner, with a token, an expiry and
// an acquisition time), however fast the lease changes hands.
func testLockContention(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newLockEnv(t, f)
	const workers, rounds = 12, 15
	now := e.clock.Now() // the clock stands still: leases change hands by release only
	var inside atomic.Int32
	var refusals atomic.Int64
	var mu sync.Mutex
	var tokens []int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("owner-%d", w)
			for got := 0; got < rounds; {
				le, ok, err := e.locker.Acquire(ctx, "hot", owner, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					// A refusal names the real holder: another owner, with
					// its token, expiry and acquisition time.
					if le.Owner == "" || le.Owner == owner || le.Token < 1 || !le.Expires.Equal(now.Add(time.Hour)) || !le.Acquired.Equal(now) {
						errs <- fmt.Errorf("%s refused by %+v", owner, le)
						return
					}
					refusals.Add(1)
					continue
				}
				if !le.Acquired.Equal(now) {
					errs <- fmt.Errorf("%s granted %+v, acquired not now (%v)", owner, le, now)
				}
				if n := inside.Add(1); n != 1 {
					errs <- fmt.Errorf("%d holders at once", n)
				}
				mu.Lock()
				if len(tokens) > 0 && le.Token <= tokens[len(tokens)-1] {
					errs <- fmt.Errorf("token %d after %d", le.Token, tokens[len(tokens)-1])
				}
				tokens = append(tokens, le.Token)
				mu.Unlock()
				inside.Add(-1)
				released, err := e.locker.Release(ctx, "hot", owner)
				if err != nil || !released {
					errs <- fmt.Errorf("release: %v %v", released, err)
					return
				}
				got++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, tokens, workers*rounds)
	require.Equal(t, int64(workers*rounds), tokens[len(tokens)-1])
	t.Logf("%d refusals, each naming its holder", refusals.Load())
}

func testLockFence(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newLockEnv(t, f)
	le, _, err := e.locker.Acquire(ctx, "writer", "alice", 10*time.Second)
	require.NoError(t, err)
	alice := e.store.WithFence("writer", le.Token)
	require.NoError(t, alice.Put(ctx, "k", -1, json.RawMessage(`"alice"`)))
	require.NoError(t, alice.Patch(ctx, "p", -1, json.RawMessage(`{"a":1}`)))
	_, err = alice.MutateAll(ctx, kvcore.Put("m", -1, json.RawMessage(`1`)), kvcore.Delete("p"))
	require.NoError(t, err)

	// Alice's lease expires and Bob takes it: Alice's writes are refused.
	e.clock.Advance(11 * time.Second)
	require.ErrorIs(t, alice.Put(ctx, "k", -1, json.RawMessage(`"stale"`)), kvcore.ErrFenced, "expired")
	le2, ok, err := e.locker.Acquire(ctx, "writer", "bob", 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	require.ErrorIs(t, alice.Put(ctx, "k", -1, json.RawMessage(`"stale"`)), kvcore.ErrFenced)
	_, err = alice.Delete(ctx, "k")
	require.ErrorIs(t, err, kvcore.ErrFenced)
	bob := e.store.WithFence("writer", le2.Token)
	require.NoError(t, bob.Put(ctx, "k", -1, json.RawMessage(`"bob"`)))
	requireValue(t, e.store, "k", `"bob"`, 2)

	// After release, the holder's token no longer fences anything.
	_, err = e.locker.Release(ctx, "writer", "bob")
	require.NoError(t, err)
	require.ErrorIs(t, bob.Put(ctx, "k", -1, json.RawMessage(`"late"`)), kvcore.ErrFenced)
	requireValue(t, e.store, "k", `"bob"`, 2)
}

// testLockHold: a held lease outlives several of its durations because it
// is renewed. The Hold renews on its own (real-time) timer; the leases'
// clock is the test's, moved on by half a duration each time a renewal has
// caught up with it, so the lease outlives twice its duration however slow
// the renewals are, and only if they happen.
func testLockHold(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	b := f(t)
	clock := NewClock(time.Time{})
	l, err := kvlock.New(b.Locker, kvlock.WithClock(clock.Now))
	require.NoError(t, err)
	const d = 600 * time.Millisecond
	h, err := l.Hold(ctx, "held", "alice", d)
	require.NoError(t, err)
	token := h.Token()
	_, err = l.Hold(ctx, "held", "bob", d)
	require.ErrorIs(t, err, kvlock.ErrHeld)

	for step := range 4 {
		clock.Advance(d / 2)
		require.Eventually(t, func() bool {
			le, held, err := l.Status(ctx, "held")
			return err == nil && held && !le.Expires.Before(l.Now().Add(d))
		}, 20*time.Second, 5*time.Millisecond, "step %d: the hold renewed the lease at the clock's new time", step)
	}
	select {
	case <-h.Lost():
		t.Fatalf("lost the lease: %v", h.Err())
	default:
	}
	_, ok, err := l.Acquire(ctx, "held", "bob", d)
	require.NoError(t, err)
	require.False(t, ok, "still held after twice its duration")
	require.Equal(t, token, h.Token())
	le, _, err := l.Status(ctx, "held")
	require.NoError(t, err)
	require.True(t, le.Acquired.Equal(h.Lease().Acquired), "renewals keep the acquisition time")
	require.True(t, le.Acquired.Before(l.Now().Add(-d)), "acquired when the hold began: %v", le.Acquired)

	require.NoError(t, h.Release(ctx))
	le, ok, err = l.Acquire(ctx, "held", "bob", d)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, token+1, le.Token)
}

// testLockHoldLost: a hold whose lease expired and went to another owner
// reports the loss.
func testLockHoldLost(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	b := f(t)
	clock := NewClock(time.Time{})
	l, err := kvlock.New(b.Locker, kvlock.WithClock(clock.Now))
	require.NoError(t, err)
	h, err := l.Hold(ctx, "held", "alice", 300*time.Millisecond)
	require.NoError(t, err)
	takeOverExpired(t, clock, l, "held", "bob")
	select {
	case <-h.Lost():
		require.ErrorIs(t, h.Err(), kvlock.ErrLost)
	case <-time.After(30 * time.Second):
		t.Fatal("the hold did not notice that its lease was taken")
	}
	require.NoError(t, h.Release(ctx))
	st, held, err := l.Status(ctx, "held")
	require.NoError(t, err)
	require.True(t, held)
	require.Equal(t, "bob", st.Owner, "releasing a lost hold leaves the new holder alone")
}

// takeOverExpired lets the lease name, held by a Hold that renews it in
// the background, expire on clock and has owner take it. The Hold's
// renewals run on their own timer but read the same clock, so one may land
// between the clock's advance and owner's acquire and renew the lease
// (possibly with a new token) past the new time; then the clock is
// advanced again. Owner must get the lease within a few attempts: the Hold
// renews only every third of its duration.
func takeOverExpired(t *testing.T, clock *Clock, l *kvlock.Locker, name, owner string) kvlock.Lease {
	t.Helper()
	for attempt := 1; ; attempt++ {
		clock.Advance(time.Hour) // the held lease expires on the shared clock
		le, ok, err := l.Acquire(context.Background(), name, owner, time.Hour)
		require.NoError(t, err)
		if ok {
			return le
		}
		require.Less(t, attempt, 20, "%s never got the expired lease %q (held by %q)", owner, name, le.Owner)
	}
}
