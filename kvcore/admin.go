package kvcore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/kvsuite/kv/kvcore/driver"
)

// ErrUnsupported is errors.ErrUnsupported: the backend lacks an optional
// feature (see the optional interfaces of package driver).
var ErrUnsupported = errors.ErrUnsupported

// Unsupported returns the error of a front (kvcore, kvlock, kvstream) whose
// driver d lacks the optional interface iface that op needs. It wraps
// ErrUnsupported.
func Unsupported(op string, d any, iface string) error {
	return fmt.Errorf("kv %s: %w: the backend (%T) does not implement %s", op, ErrUnsupported, d, iface)
}

// Namespaces returns the namespaces that hold at least one live record, in
// ascending byte order (the default namespace "" first if it holds any).
// Namespaces whose records have all expired or been deleted are not listed.
// It needs a backend that implements driver.NamespaceLister (all of kv's
// do); otherwise the error wraps ErrUnsupported.
func (s *Store) Namespaces(ctx context.Context) ([]string, error) {
	l, ok := s.d.(driver.NamespaceLister)
	if !ok {
		return nil, Unsupported("namespaces", s.d, "driver.NamespaceLister")
	}
	ns, err := l.Namespaces(ctx, s.Now())
	if err != nil {
		return nil, wrap("namespaces", err)
	}
	return sortedUnique(ns), nil
}

// sortedUnique sorts names in byte order and drops repeats.
func sortedUnique(names []string) []string {
	slices.Sort(names)
	return slices.Compact(names)
}

// SchemaVersion returns the schema version applied to the database (0 if
// there is no schema yet) and the version this backend needs, which Init
// migrates to. It does not need Init. It needs a backend that implements
// driver.SchemaVersioner (all of kv's do); otherwise the error wraps
// ErrUnsupported.
func (s *Store) SchemaVersion(ctx context.Context) (applied, required int, err error) {
	v, ok := s.d.(driver.SchemaVersioner)
	if !ok {
		return 0, 0, Unsupported("schema version", s.d, "driver.SchemaVersioner")
	}
	applied, required, err = v.SchemaVersion(ctx)
	if err != nil {
		return 0, 0, wrap("schema version", err)
	}
	return applied, required, nil
}

// PrefixEnd returns the smallest string greater than every string that
// starts with prefix, and false if there is none (an empty prefix, or one of
// only U+10FFFF). [prefix, PrefixEnd(prefix)) is the byte-wise range of the
// strings with that prefix, so a backend answers it from an index with plain
// comparisons.
func PrefixEnd(prefix string) (string, bool) { return prefixEnd(prefix) }
