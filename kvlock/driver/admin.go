package driver

import (
	"context"
	"time"
)

// NameRange selects lease names n with From <= n, and n < To if HasTo,
// compared byte-wise. The front turns a prefix into a NameRange, so a driver
// answers it from the index on name with plain comparisons (never LIKE).
type NameRange struct {
	From  string
	To    string
	HasTo bool
}

// LeaseLister is implemented by a Locker that can list leases. It is
// optional: kvlock.Locker.Leases returns an error wrapping
// errors.ErrUnsupported without it. Every backend that ships with kv
// implements it.
type LeaseLister interface {
	// HeldLeases returns the leases in r that are held at now (an owner,
	// and an expiry after now), in any order. Released and expired leases
	// are left out.
	HeldLeases(ctx context.Context, r NameRange, now time.Time) ([]Lease, error)
}
