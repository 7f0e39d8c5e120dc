package kvcore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

// bareDriver implements only driver.Store (its methods are never called).
type bareDriver struct{ driver.Store }

// listingDriver lists namespaces unsorted, with a duplicate, and reports a
// schema version.
type listingDriver struct {
	bareDriver
	now time.Time // the now Namespaces was given
}

func (d *listingDriver) Namespaces(ctx context.Context, now time.Time) ([]string, error) {
	d.now = now
	return []string{"b", "", "\u00fc", "B", "b"}, nil
}

func (d *listingDriver) SchemaVersion(ctx context.Context) (int, int, error) {
	return 0, 0, errors.New("boom")
}

// TestOptionalFeatures: without the optional interface the error wraps
// errors.ErrUnsupported and names what is missing; with it the front sorts
// byte-wise, drops duplicates, passes its clock and names the operation in
// errors.
func TestOptionalFeatures(t *testing.T) {
	ctx := context.Background()
	s, err := kvcore.New(bareDriver{}, kvcore.WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Namespaces(ctx)
	if !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, kvcore.ErrUnsupported) || !strings.Contains(err.Error(), "driver.NamespaceLister") {
		t.Errorf("Namespaces on a bare driver: %v", err)
	}
	if _, _, err := s.SchemaVersion(ctx); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "driver.SchemaVersioner") {
		t.Errorf("SchemaVersion on a bare driver: %v", err)
	}

	at := time.Date(2030, 1, 2, 3, 4, 5, 6789, time.UTC)
	d := &listingDriver{}
	s, err = kvcore.New(d, kvcore.WithSweepInterval(0), kvcore.WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns, err := s.Namespaces(ctx)
	if err != nil || strings.Join(ns, ",") != ",B,b,\u00fc" {
		t.Errorf("Namespaces: %q, %v", ns, err)
	}
	if !d.now.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("the driver got now %v, want the store's clock", d.now)
	}
	if _, _, err := s.SchemaVersion(ctx); err == nil || err.Error() != "kv schema version: boom" {
		t.Errorf("SchemaVersion error: %v", err)
	}
}
