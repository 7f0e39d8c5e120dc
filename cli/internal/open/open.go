// Package open turns the kv CLI's --type, --connection and --namespace into
// an open kvcore.Store. It is the one place that knows the backends.
package open

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kvsuite/kv/cli/internal/redact"
	"github.com/kvsuite/kv/kvcore"
)

// Types lists the backends that --type accepts, the default first.
var Types = []string{"sqlite", "postgres", "rqlite"}

// Errors Open returns; test for them with errors.Is.
var (
	// ErrUnknownType: --type names no backend.
	ErrUnknownType = errors.New("unknown store type")
)

// Config says which store to open.
type Config struct {
	// Type is one of Types.
	Type string
	// Connection is the backend's connection string (a secret: never print
	// it without redact.Connection).
	Connection string
	// Namespace is the keyspace the store is bound to ("" is the default).
	Namespace string
}

// CheckType reports whether t is one of Types.
func CheckType(t string) error {
	for _, known := range Types {
		if t == known {
			return nil
		}
	}
	return fmt.Errorf("%w %q: want one of %s", ErrUnknownType, t, strings.Join(Types, ", "))
}

// Backend is an open store.
type Backend struct {
	// Store is bound to the configured namespace. It runs no background
	// sweeper: every CLI command is one-shot.
	Store *kvcore.Store
	// ReadOnly is true when the connection cannot write (SQLite mode=ro);
	// Init is then neither needed nor possible.
	ReadOnly bool
	closers  []func() error
}

// Close closes the store and the backend's connection. Calling it again
// does nothing.
func (b *Backend) Close() error {
	var errs []error
	closers := b.closers
	b.closers = nil
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](); err != nil && !errors.Is(err, kvcore.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// storeOptions are the kvcore options every backend gets.
func storeOptions(cfg Config) []kvcore.Option {
	return []kvcore.Option{
		kvcore.WithNamespace(cfg.Namespace),
		kvcore.WithSweepInterval(0),
	}
}

// Open opens the store that cfg describes. It does not call Init. Errors
// never contain the connection string's secrets.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	if err := CheckType(cfg.Type); err != nil {
		return nil, err
	}
	if cfg.Connection == "" {
		return nil, fmt.Errorf("connection string is empty (set --connection or KV_CONNECTION)")
	}
	var (
		b   *Backend
		err error
	)
	switch cfg.Type {
	case "sqlite":
		b, err = openSQLite(ctx, cfg)
	case "postgres":
		b, err = openPostgres(ctx, cfg)
	case "rqlite":
		b, err = openRQLite(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s %q: %w", cfg.Type, redact.Connection(cfg.Connection), scrubbed{err, cfg.Connection})
	}
	return b, nil
}

// scrubbed formats an error without the connection's secrets, keeping it
// testable with errors.Is.
type scrubbed struct {
	err  error
	conn string
}

func (s scrubbed) Error() string { return redact.Scrub(s.err.Error(), s.conn) }
func (s scrubbed) Unwrap() error { return s.err }
