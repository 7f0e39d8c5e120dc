package driver

import (
	"context"
	"time"
)

// The interfaces in this file are optional: a backend implements those it
// can, and the front (kvcore.Store) returns an error wrapping
// errors.ErrUnsupported when the driver lacks one. Every backend that ships
// with kv implements all of them.

// NamespaceLister is implemented by a Store that can list its namespaces.
type NamespaceLister interface {
	// Namespaces returns every namespace that holds at least one record
	// that is live at now (no expiry, or an expiry after now), each once, in
	// any order. A driver should find them from the (namespace, key) index,
	// one probe per namespace, not by reading every record.
	Namespaces(ctx context.Context, now time.Time) ([]string, error)
}

// SchemaVersioner is implemented by a Store that can tell its schema
// version.
type SchemaVersioner interface {
	// SchemaVersion returns the newest migration applied to the database (0
	// if the schema does not exist yet; it does not need Init) and the
	// version this driver needs (which Init migrates to).
	SchemaVersion(ctx context.Context) (applied, required int, err error)
}
