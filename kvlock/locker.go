// Package kvlock provides leases with fencing tokens on any kv backend.
//
// A lease is held by one owner until it expires or is released. Every time
// it changes hands its fencing token grows, and a kvcore write can be made
// conditional on the token (kvcore.Store.WithFence), so a holder that lost
// its lease - paused by GC, partitioned, or simply slow - cannot write.
package kvlock

import (
	"context"
	"fmt"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock/driver"
)

// Lease is the state of a lease.
type Lease struct {
	Name  string `json:"name"`
	Owner string `json:"owner"` // "" once released
	// Token grows by one every time the lease changes hands.
	Token int64 `json:"token"`
	// Expires is when the lease ends unless it is extended; zero once
	// released.
	Expires time.Time `json:"expires"`
	// Acquired is when Owner took the lease: extending it keeps the time,
	// a change of hands sets it anew. It is zero once the lease is released,
	// and for a lease held since before the backend stored acquisition
	// times, until it next changes hands.
	Acquired time.Time `json:"acquired"`
}

func leaseFrom(d driver.Lease) Lease {
	return Lease{Name: d.Name, Owner: d.Owner, Token: d.Token, Expires: d.Expires.UTC(), Acquired: d.Acquired.UTC()}
}

// Locker grants, extends and releases leases. It is safe for concurrent use.
type Locker struct {
	d   driver.Locker
	now func() time.Time
}

// Option configures New.
type Option func(*Locker)

// WithClock sets the clock leases are timed with (default time.Now). Every
// process sharing leases should use a clock within a small margin of the
// others'; keep lease durations well above that margin.
func WithClock(now func() time.Time) Option {
	return func(l *Locker) {
		if now != nil {
			l.now = now
		}
	}
}

// New returns a Locker over a backend driver.
func New(d driver.Locker, opts ...Option) (*Locker, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: nil driver", ErrInvalidArgument)
	}
	l := &Locker{d: d, now: time.Now}
	for _, opt := range opts {
		opt(l)
	}
	return l, nil
}

// Now returns the locker clock's reading in UTC at microsecond precision.
func (l *Locker) Now() time.Time { return l.now().UTC().Truncate(time.Microsecond) }

// MinDuration is the shortest lease.
const MinDuration = time.Millisecond

// validate checks an Acquire of name for owner for d at now: the lease
// ends (now+d) no later than kvcore.MaxTime, the latest time kv stores.
func validate(name, owner string, d time.Duration, now time.Time) error {
	if err := kvcore.ValidateName("lease name", name); err != nil {
		return err
	}
	if err := kvcore.ValidateName("lease owner", owner); err != nil {
		return err
	}
	if d < MinDuration {
		return fmt.Errorf("%w: lease duration %v is shorter than %v", ErrInvalidArgument, d, MinDuration)
	}
	if err := kvcore.ValidateTime("the locker's clock reading", now); err != nil {
		return err
	}
	return kvcore.ValidateTime(fmt.Sprintf("lease expiry (duration %v from %s)", d, now.Format(time.RFC3339Nano)), now.Add(d))
}

// Acquire takes the lease name for owner for duration d (at least
// MinDuration, and ending no later than kvcore.MaxTime) if it is free,
// expired, or already held by owner (which extends it). It returns the lease
// and true; if another owner holds it, it returns that holder's lease (its
// owner, token, expiry and acquisition time, held now) and false. If the
// lease changed hands so often while Acquire looked that the holder could
// not be told, the error wraps ErrChangedHands (nothing was granted).
func (l *Locker) Acquire(ctx context.Context, name, owner string, d time.Duration) (Lease, bool, error) {
	now := l.Now()
	if err := validate(name, owner, d, now); err != nil {
		return Lease{}, false, err
	}
	le, ok, err := l.d.Acquire(ctx, name, owner, now, d)
	if err != nil {
		return Lease{}, false, fmt.Errorf("kv lock acquire %q: %w", name, err)
	}
	if !ok && (le.Owner == "" || le.Owner == owner || !le.Expires.After(now)) {
		// A refusal must name another owner that holds the lease.
		return Lease{}, false, fmt.Errorf("kv lock acquire %q: %w (the backend named %q until %s as the holder)",
			name, ErrChangedHands, le.Owner, le.Expires.UTC().Format(time.RFC3339Nano))
	}
	return leaseFrom(le), ok, nil
}

// Release frees the lease if owner holds it, and reports whether it did.
func (l *Locker) Release(ctx context.Context, name, owner string) (bool, error) {
	if err := kvcore.ValidateName("lease name", name); err != nil {
		return false, err
	}
	if err := kvcore.ValidateName("lease owner", owner); err != nil {
		return false, err
	}
	ok, err := l.d.Release(ctx, name, owner, l.Now())
	if err != nil {
		return false, fmt.Errorf("kv lock release %q: %w", name, err)
	}
	return ok, nil
}

// Status returns the lease and whether it is held now. An expired or
// released lease is not held (its last token is still reported).
func (l *Locker) Status(ctx context.Context, name string) (Lease, bool, error) {
	if err := kvcore.ValidateName("lease name", name); err != nil {
		return Lease{}, false, err
	}
	le, ok, err := l.d.Lease(ctx, name)
	if err != nil {
		return Lease{}, false, fmt.Errorf("kv lock status %q: %w", name, err)
	}
	if !ok {
		return Lease{Name: name}, false, nil
	}
	held := le.Owner != "" && le.Expires.After(l.Now())
	return leaseFrom(le), held, nil
}
