// Package driver defines the interface (SPI) a backend implements for
// kvlock.Locker: leases with fencing tokens.
//
// A lease is a row (name, owner, token, expires, acquired). Rows are never deleted, so
// a lease's token keeps growing for its whole life. The front validates every
// argument and passes its clock's reading as now; a driver never reads its
// own clock for lease decisions.
//
// The same rows back kvcore's fenced writes (kvcore/driver.Batch.Fence): a
// fence (name, token) holds while the lease's token is token and its expiry
// is after the batch's Now.
package driver

import (
	"context"
	"errors"
	"time"
)

// ErrChangedHands: Acquire was refused, but who holds the lease could not
// be told, because it changed hands again and again while Acquire looked.
// Nothing was granted; trying again is safe.
var ErrChangedHands = errors.New("lease changed hands while it was being acquired")

// Lease is a lease as stored.
type Lease struct {
	Name  string
	Owner string // "" once released
	// Token grows by one every time the lease is granted to an owner that
	// does not hold it at that moment (a new owner, or the same owner after
	// its lease expired or was released). Extending keeps the token.
	Token   int64
	Expires time.Time // UTC; the lease is held while Expires is after now
	// Acquired is when Owner was granted the lease (UTC): the now of the
	// Acquire that gave it to Owner while Owner did not hold it, the same
	// Acquire that raised Token. Extending keeps it; Release clears it. It
	// is zero when unknown: for a lease granted before the backend stored
	// it (until the lease next changes hands), and once released.
	Acquired time.Time
}

// Locker is what a backend implements for kvlock. Each method is one atomic
// operation (one statement or one request on rqlite).
type Locker interface {
	// Acquire grants the lease to owner until now+ttl if it is free (no row,
	// released, or expired at now) or already held by owner (an extension,
	// which keeps Token and Acquired; a grant to an owner that does not
	// hold it raises Token and sets Acquired to now). It returns the lease
	// as it then stands and true; if another owner holds it, it returns
	// that holder's lease (held at now: its owner, token, expiry after now
	// and acquisition time) and false. A driver that cannot tell the
	// holder, because the lease kept changing hands while it looked, returns
	// an error wrapping ErrChangedHands.
	Acquire(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (Lease, bool, error)

	// Release frees the lease if owner holds it at now (clearing the owner,
	// expiry and acquisition time, keeping the token) and reports whether it
	// did.
	Release(ctx context.Context, name, owner string, now time.Time) (bool, error)

	// Lease returns the stored lease (held or not) and whether it exists.
	Lease(ctx context.Context, name string) (Lease, bool, error)
}
