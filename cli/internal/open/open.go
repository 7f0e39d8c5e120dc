// Package open turns the kv CLI's --type, --connection and --namespace into
// an open kvcore.Store. It is the one place that knows the backends.
package open

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/kvsuite/kv/cli/internal/redact"
	"github.com/kvsuite/kv/kvcore"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// Types lists the backends that --type accepts, the default first.
var Types = []string{"sqlite", "postgres", "rqlite"}

// Errors Open returns; test for them with errors.Is.
var (
	// ErrUnknownType: --type names no backend.
	ErrUnknownType = errors.New("unknown store type")
	// ErrNotSupported: the backend does not implement a feature (leases,
	// the change stream, tasks) yet.
	ErrNotSupported = errors.New("not supported by this backend yet")
	// ErrNoDatabaseFile: with Config.MustExist, the SQLite database file
	// does not exist. It wraps fs.ErrNotExist.
	ErrNoDatabaseFile = fmt.Errorf("the database %w", fs.ErrNotExist)
	// ErrWrongForm: the connection string has a form the backend does not
	// take (a URL for SQLite, say).
	ErrWrongForm = errors.New("connection string of the wrong kind")
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
	// MustExist opens an existing store only, for a command that only
	// reads: a SQLite database file that does not exist is an error
	// (wrapping ErrNoDatabaseFile) rather than created.
	MustExist bool
	// StoreOptions are more options for the store (kv serve's observer).
	StoreOptions []kvcore.Option
}

// CheckType reports whether t is one of Types.
func CheckType(t string) error {
	for _, known := range Types {
		if t == known {
			return nil
		}
	}
	return fmt.Errorf("%w %s: want one of %s", ErrUnknownType, redact.Value(t), strings.Join(Types, ", "))
}

// Backend is an open store.
type Backend struct {
	// Store is bound to the configured namespace. It runs no background
	// sweeper: every CLI command is one-shot.
	Store *kvcore.Store
	// ReadOnly is true when the connection cannot write (SQLite mode=ro);
	// Init is then neither needed nor possible.
	ReadOnly bool
	// private: the database lives in this process's memory only (SQLite
	// in memory), so no one else can see what is written to it.
	private bool
	typ     string
	db      any // the backend's *DB: its driver for kvcore, and for kvlock, kvstream and kvtask if it implements them
	closers []func() error
}

// Locker returns the backend's lease driver (for kvlock.New), or
// ErrNotSupported if the backend does not implement leases yet.
func (b *Backend) Locker() (lockdriver.Locker, error) {
	if l, ok := b.db.(lockdriver.Locker); ok {
		return l, nil
	}
	return nil, fmt.Errorf("leases (kv lock): %w (--type %s)", ErrNotSupported, b.typ)
}

// Stream returns the backend's change-stream driver (for kvstream.New), or
// ErrNotSupported if the backend does not implement the stream yet.
func (b *Backend) Stream() (streamdriver.Stream, error) {
	if s, ok := b.db.(streamdriver.Stream); ok {
		return s, nil
	}
	return nil, fmt.Errorf("the change stream (kv stream, kv consumer): %w (--type %s)", ErrNotSupported, b.typ)
}

// Queue returns the backend's task-queue driver (for kvtask.New), or
// ErrNotSupported if the backend does not implement tasks yet.
func (b *Backend) Queue() (taskdriver.Queue, error) {
	if q, ok := b.db.(taskdriver.Queue); ok {
		return q, nil
	}
	return nil, fmt.Errorf("tasks (kv task): %w (--type %s)", ErrNotSupported, b.typ)
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

// backendDB is what every backend's *DB offers: a store over it, and Close.
type backendDB interface {
	Store(opts ...kvcore.Option) (*kvcore.Store, error)
	Close() error
}

// newBackend binds a store in cfg's namespace, with no background sweeper,
// to db; if that fails it closes db.
func newBackend(db backendDB, cfg Config) (*Backend, error) {
	st, err := db.Store(append([]kvcore.Option{kvcore.WithNamespace(cfg.Namespace), kvcore.WithSweepInterval(0)}, cfg.StoreOptions...)...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &Backend{Store: st, db: db, closers: []func() error{db.Close, st.Close}}, nil
}

// Open opens the store that cfg describes. It does not call Init. Errors
// never contain the connection string's secrets.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	if err := CheckType(cfg.Type); err != nil {
		return nil, err
	}
	if cfg.Connection == "" {
		return nil, fmt.Errorf("%w: --type %s needs one (set --connection or KV_CONNECTION), e.g. --connection '%s'", ErrNoConnection, cfg.Type, exampleConnection[cfg.Type])
	}
	if err := checkForm(cfg); err != nil {
		return nil, fmt.Errorf("open %s: %w", cfg.Type, err)
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
	b.typ = cfg.Type
	return b, nil
}

// checkForm refuses a connection string that redact cannot read (its
// error shows none of it), and one whose form the backend does not take
// where taking it would be a mistake: SQLite reads any string as a file
// name, so a URL or keyword/value string given with --type sqlite would
// name a file after a password.
func checkForm(cfg Config) error {
	if err := redact.Check(cfg.Connection); err != nil {
		return err
	}
	if cfg.Type != "sqlite" {
		return nil
	}
	switch redact.FormOf(cfg.Connection) {
	case redact.URL:
		return fmt.Errorf("%w: it is a URL, but --type sqlite takes a file path or a file: URI (did you mean --type postgres or --type rqlite?)", ErrWrongForm)
	case redact.Keywords:
		return fmt.Errorf("%w: it is a keyword/value string, but --type sqlite takes a file path or a file: URI (did you mean --type postgres?)", ErrWrongForm)
	}
	return nil
}

// scrubbed formats an error without the connection's secrets, keeping it
// testable with errors.Is.
type scrubbed struct {
	err  error
	conn string
}

func (s scrubbed) Error() string { return redact.Scrub(s.err.Error(), s.conn) }
func (s scrubbed) Unwrap() error { return s.err }
