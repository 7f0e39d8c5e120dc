package sqlitekv

import (
	"fmt"
	"runtime"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// Synchronous is SQLite's synchronous setting for the writer connection.
type Synchronous int

// The durability levels WithSynchronous accepts.
const (
	// Full (the default) syncs the write-ahead log on every commit: a
	// committed write survives a power failure.
	Full Synchronous = iota + 1
	// Normal syncs only at checkpoints: a commit survives a crash of the
	// process but the last commits may be lost on a power failure. It is
	// never corrupted either way.
	Normal
)

// String returns the pragma value, "FULL" or "NORMAL".
func (s Synchronous) String() string {
	switch s {
	case Full:
		return "FULL"
	case Normal:
		return "NORMAL"
	}
	return fmt.Sprintf("Synchronous(%d)", int(s))
}

// Limits that options are checked against.
const (
	maxReaders     = 1024
	maxMaxBatch    = 100000
	maxBusyTimeout = time.Hour
)

// Option configures Open and OpenMemory. Options are checked: a bad value
// makes Open fail with an error wrapping kvcore.ErrInvalidArgument.
type Option func(*options) error

type options struct {
	sync        Synchronous
	readers     int
	maxBatch    int
	busyTimeout time.Duration
	mustExist   bool
}

func defaultOptions() options {
	r := runtime.GOMAXPROCS(0)
	if r < 4 {
		r = 4
	}
	return options{sync: Full, readers: r, maxBatch: 256, busyTimeout: 5 * time.Second}
}

func optionError(format string, args ...any) error {
	return fmt.Errorf("sqlitekv: %w: %s", kvcore.ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// WithSynchronous sets the writer's durability: Full (the default) or Normal.
// The database always runs in WAL mode.
func WithSynchronous(s Synchronous) Option {
	return func(o *options) error {
		if s != Full && s != Normal {
			return optionError("synchronous %v: want sqlitekv.Full or sqlitekv.Normal", s)
		}
		o.sync = s
		return nil
	}
}

// WithReaders sets the size of the read connection pool (default
// GOMAXPROCS, at least 4). It is ignored in the in-memory mode, which uses
// one connection for everything.
func WithReaders(n int) Option {
	return func(o *options) error {
		if n < 1 || n > maxReaders {
			return optionError("readers %d: want 1 to %d", n, maxReaders)
		}
		o.readers = n
		return nil
	}
}

// WithMaxBatch bounds how many concurrent write requests (Apply calls) the
// writer commits in one transaction (default 256). 1 turns group commit off.
func WithMaxBatch(n int) Option {
	return func(o *options) error {
		if n < 1 || n > maxMaxBatch {
			return optionError("max batch %d: want 1 to %d", n, maxMaxBatch)
		}
		o.maxBatch = n
		return nil
	}
}

// WithBusyTimeout sets how long a connection waits for a lock held by
// another process before failing (default 5s). Within one process the single
// writer never contends with itself.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 || d > maxBusyTimeout {
			return optionError("busy timeout %v: want 0 to %v", d, maxBusyTimeout)
		}
		o.busyTimeout = d
		return nil
	}
}

// WithMustExist makes Open refuse to create a database file: a connection
// string whose mode creates one (rwc, the default) opens an existing file
// only, as mode=rw does, and a missing file is ErrNotCreated. It is for programs that only read or that must not
// create a database by mistake (kv's read commands). It changes nothing
// for an in-memory database.
func WithMustExist() Option {
	return func(o *options) error {
		o.mustExist = true
		return nil
	}
}
