package kvlock_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvlock/driver"
)

// bareLocker implements only driver.Locker (its methods are never called).
type bareLocker struct{ driver.Locker }

// listingLocker records the range and time it was asked for and returns
// leases out of order.
type listingLocker struct {
	bareLocker
	r   driver.NameRange
	now time.Time
}

func (l *listingLocker) HeldLeases(ctx context.Context, r driver.NameRange, now time.Time) ([]driver.Lease, error) {
	l.r, l.now = r, now
	return []driver.Lease{{Name: "job/b", Owner: "x", Token: 2}, {Name: "job/a", Owner: "y", Token: 1}}, nil
}

// TestLeases: the front validates the prefix, turns it into a byte-wise
// range, passes its clock, sorts by name, and reports a driver without the
// optional interface with errors.ErrUnsupported.
func TestLeases(t *testing.T) {
	ctx := context.Background()
	l, err := kvlock.New(bareLocker{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Leases(ctx, ""); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "driver.LeaseLister") {
		t.Errorf("Leases on a bare driver: %v", err)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 6789, time.UTC)
	d := &listingLocker{}
	l, err = kvlock.New(d, kvlock.WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := l.Leases(ctx, "job/")
	if err != nil || len(ls) != 2 || ls[0].Name != "job/a" || ls[1].Name != "job/b" {
		t.Errorf("Leases: %+v, %v", ls, err)
	}
	if d.r != (driver.NameRange{From: "job/", To: "job0", HasTo: true}) || !d.now.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("the driver got %+v at %v", d.r, d.now)
	}
	if _, err := l.Leases(ctx, ""); err != nil || d.r != (driver.NameRange{}) {
		t.Errorf("every lease: range %+v, %v", d.r, err)
	}
	for _, bad := range []string{"a\x00", "\xff", strings.Repeat("x", 2000)} {
		if _, err := l.Leases(ctx, bad); !errors.Is(err, kvlock.ErrInvalidArgument) {
			t.Errorf("prefix %q: %v", bad, err)
		}
	}
}
