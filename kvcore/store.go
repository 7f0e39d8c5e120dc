// Package kvcore is kv's key-value store: records with keys, versions, types
// and expiry, on any backend that implements the small interface in
// package driver (SQLite, PostgreSQL and rqlite ship with kv).
//
// Store validates every argument, applies every rule once (versions, RFC 7396
// merge patch, expiry, pagination, namespaces) and passes a backend only
// validated, atomic operations. ARCHITECTURE.md in the repository says where
// each rule lives; the README states the semantics every backend shares.
package kvcore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
)

// Store is a key-value store bound to one namespace of a backend.
// It is safe for concurrent use.
type Store struct {
	d     driver.Store
	ns    string
	fence *driver.Fence // set by WithFence
	*shared
}

// shared is the state that every namespace view of one store shares.
type shared struct {
	mu           sync.RWMutex
	now          func() time.Time
	maxValueSize int
	patchRetries int
	stopSweep    context.CancelFunc
	sweepDone    chan struct{}
	closeOnce    sync.Once
	closeDriver  bool
	observer     Observer // nil: none
}

// Option configures New.
type Option func(*options) error

type options struct {
	ns           string
	now          func() time.Time
	maxValueSize int
	sweepEvery   time.Duration
	closeDriver  bool
	observer     Observer
}

// WithNamespace binds the store to a namespace (default ""). Nothing in one
// namespace is visible from another.
func WithNamespace(ns string) Option {
	return func(o *options) error {
		if err := ValidateNamespace(ns); err != nil {
			return err
		}
		o.ns = ns
		return nil
	}
}

// WithClock sets the clock used for created/updated times and expiry.
// The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return invalidArg("nil clock")
		}
		o.now = now
		return nil
	}
}

// WithMaxValueSize sets the largest value in bytes (default 16 MiB, at
// most MaxValueSizeLimit).
func WithMaxValueSize(n int) Option {
	return func(o *options) error {
		if n <= 0 || n > MaxValueSizeLimit {
			return invalidArg("max value size %d: want 1 to %d bytes", n, MaxValueSizeLimit)
		}
		o.maxValueSize = n
		return nil
	}
}

// WithSweepInterval sets how often expired records are removed in the
// background (default one minute; 0 turns the sweeper off - expired records
// stay invisible either way). Close stops the sweeper.
func WithSweepInterval(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return invalidArg("sweep interval %v is negative", d)
		}
		o.sweepEvery = d
		return nil
	}
}

// WithCloseDriver makes Store.Close also close the driver.
func WithCloseDriver() Option {
	return func(o *options) error { o.closeDriver = true; return nil }
}

// New returns a Store over a backend driver.
func New(d driver.Store, opts ...Option) (*Store, error) {
	if d == nil {
		return nil, invalidArg("nil driver")
	}
	o := options{now: time.Now, maxValueSize: DefaultMaxValueSize, sweepEvery: time.Minute}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	s := &Store{d: d, ns: o.ns, shared: &shared{
		now:          o.now,
		maxValueSize: o.maxValueSize,
		patchRetries: 100,
		closeDriver:  o.closeDriver,
		observer:     o.observer,
	}}
	if o.sweepEvery > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopSweep = cancel
		s.sweepDone = make(chan struct{})
		go s.sweepLoop(ctx, o.sweepEvery)
	}
	return s, nil
}

// Namespace returns a view of the same store bound to namespace ns.
// The view shares the clock, limits and lifetime of s.
func (s *Store) Namespace(ns string) (*Store, error) {
	if err := ValidateNamespace(ns); err != nil {
		return nil, err
	}
	return &Store{d: s.d, ns: ns, shared: s.shared}, nil
}

// NamespaceName returns the namespace the store is bound to.
func (s *Store) NamespaceName() string { return s.ns }

// Driver returns the backend driver under the store.
func (s *Store) Driver() driver.Store { return s.d }

// SetNow replaces the clock (for tests). Prefer WithClock.
func (s *Store) SetNow(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.mu.Lock()
	s.shared.now = now
	s.mu.Unlock()
}

// Now returns the store clock's reading: UTC, truncated to microseconds
// (the precision every backend stores).
func (s *Store) Now() time.Time {
	s.mu.RLock()
	now := s.shared.now
	s.mu.RUnlock()
	return now().UTC().Truncate(time.Microsecond)
}

// writeNow is the clock's reading for write op, which stores it (as
// created and updated times, stream times): an error if it is outside
// MinTime to MaxTime.
func (s *Store) writeNow(op string) (time.Time, error) {
	now := s.Now()
	if err := ValidateTime("the store's clock reading", now); err != nil {
		return now, fmt.Errorf("kv %s: %w", op, err)
	}
	return now, nil
}

// Init creates or migrates the backend's schema. It is safe to call more than
// once and from several processes.
func (s *Store) Init(ctx context.Context) error {
	return wrap("init", s.d.Init(ctx))
}

// Close stops the background sweeper and, with WithCloseDriver, closes the
// driver. It is safe to call more than once.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.stopSweep != nil {
			s.stopSweep()
			<-s.sweepDone
		}
		if s.closeDriver {
			err = s.d.Close()
		}
	})
	return err
}

// Sweep removes expired records from every namespace now and returns how
// many it removed. Each removal appears in the stream as a delete.
func (s *Store) Sweep(ctx context.Context) (int64, error) {
	var total int64
	for {
		now, err := s.writeNow("sweep")
		if err != nil {
			return total, err
		}
		n, err := s.d.Sweep(ctx, now, 1000)
		total += n
		if err != nil {
			return total, wrap("sweep", err)
		}
		if n < 1000 {
			return total, nil
		}
	}
}

func (s *Store) sweepLoop(ctx context.Context, every time.Duration) {
	defer close(s.sweepDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// A failed sweep is retried on the next tick; expired records
			// are invisible meanwhile.
			_, _ = s.Sweep(ctx)
		}
	}
}

// wrap prefixes a driver error with the operation's name, keeping it
// testable with errors.Is.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("kv %s: %w", op, err)
}
