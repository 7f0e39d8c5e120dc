// Package driver defines the interface (SPI) a backend implements for
// kvlock.Locker: leases with fencing tokens.
//
// A lease is a row (name, owner, token, expires). Rows are never deleted, so
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
	"time"
)

// Lease is a lease as stored.
type Lease struct {
	Name  string
	Owner string // "" once released
	// Token grows by one every time the lease is granted to an owner that
	// does not hold it at that moment (a new owner, or the same owner after
	// its lease expired or was released). Extending keeps the token.
	Token   int64
	Expires time.Time // UTC; the lease is held while Expires is after now
}

// Locker is what a backend implements for kvlock. Each method is one atomic
// operation (one statement or one request on rqlite).
type Locker interface {
	// Acquire grants the lease to owner until now+ttl if it is free (no row,
	// released, or expired at now) or already held by owner (an extension).
	// It returns the lease as it then stands and true; if another owner
	// holds it, it returns that holder's lease and false.
	Acquire(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (Lease, bool, error)

	// Release frees the lease if owner holds it at now (clearing the owner
	// and expiry, keeping the token) and reports whether it did.
	Release(ctx context.Context, name, owner string, now time.Time) (bool, error)

	// Lease returns the stored lease (held or not) and whether it exists.
	Lease(ctx context.Context, name string) (Lease, bool, error)
}
