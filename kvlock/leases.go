package kvlock

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock/driver"
)

// Leases returns the leases held now whose names start with prefix ("" for
// every lease), ordered by name. A released or expired lease is not listed.
// It needs a backend that implements driver.LeaseLister (all of kv's do);
// otherwise the error wraps errors.ErrUnsupported.
func (l *Locker) Leases(ctx context.Context, prefix string) ([]Lease, error) {
	if prefix != "" {
		if err := kvcore.ValidateName("lease prefix", prefix); err != nil {
			return nil, err
		}
	}
	ll, ok := l.d.(driver.LeaseLister)
	if !ok {
		return nil, kvcore.Unsupported("lock leases", l.d, "driver.LeaseLister")
	}
	r := driver.NameRange{From: prefix}
	r.To, r.HasTo = kvcore.PrefixEnd(prefix)
	ds, err := ll.HeldLeases(ctx, r, l.Now())
	if err != nil {
		return nil, fmt.Errorf("kv lock leases %q: %w", prefix, err)
	}
	out := make([]Lease, len(ds))
	for i, d := range ds {
		out[i] = leaseFrom(d)
	}
	slices.SortFunc(out, func(a, b Lease) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
