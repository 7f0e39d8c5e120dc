package main

import (
	"context"
	"errors"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	"github.com/kvsuite/kv/kvtask"
)

// withBackend opens the configured store, makes sure its schema exists
// (see prepareSchema), runs fn and closes the store.
func (a *app) withBackend(ctx context.Context, fn func(b *open.Backend) error) error {
	return withOpen(ctx, a.cfg, fn)
}

// withOpen is withBackend for the store cfg describes.
func withOpen(ctx context.Context, cfg open.Config, fn func(b *open.Backend) error) (err error) {
	b, err := open.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := prepareSchema(ctx, cfg, b); err != nil {
		return err
	}
	return fn(b)
}

// withStore runs fn with the configured store (see withBackend).
func (a *app) withStore(ctx context.Context, fn func(st *kvcore.Store) error) error {
	return a.withBackend(ctx, func(b *open.Backend) error { return fn(b.Store) })
}

// withLocker runs fn with leases over the configured store.
func (a *app) withLocker(ctx context.Context, fn func(l *kvlock.Locker) error) error {
	return a.withBackend(ctx, func(b *open.Backend) error {
		l, err := lockerOf(b)
		if err != nil {
			return err
		}
		return fn(l)
	})
}

// lockerOf returns leases over b (open.ErrNotSupported if it has none).
func lockerOf(b *open.Backend) (*kvlock.Locker, error) {
	d, err := b.Locker()
	if err != nil {
		return nil, err
	}
	return kvlock.New(d)
}

// withStream runs fn with the change stream of the configured store.
func (a *app) withStream(ctx context.Context, fn func(s *kvstream.Stream) error, opts ...kvstream.Option) error {
	return a.withWrappedStream(ctx, nil, fn, opts...)
}

// withWrappedStream is withStream with the backend's stream driver wrapped
// by wrap (if not nil).
func (a *app) withWrappedStream(ctx context.Context, wrap func(streamdriver.Stream) streamdriver.Stream, fn func(s *kvstream.Stream) error, opts ...kvstream.Option) error {
	return a.withBackend(ctx, func(b *open.Backend) error {
		s, err := streamOf(b, wrap, opts...)
		if err != nil {
			return err
		}
		return fn(s)
	})
}

// streamOf returns the change stream of b (open.ErrNotSupported if it has
// none), its driver wrapped by wrap if wrap is not nil.
func streamOf(b *open.Backend, wrap func(streamdriver.Stream) streamdriver.Stream, opts ...kvstream.Option) (*kvstream.Stream, error) {
	d, err := b.Stream()
	if err != nil {
		return nil, err
	}
	if wrap != nil {
		d = wrap(d)
	}
	return kvstream.New(d, opts...)
}

// withScheduler runs fn with the task scheduler of the configured store.
func (a *app) withScheduler(ctx context.Context, fn func(s *kvtask.Scheduler) error) error {
	return a.withBackend(ctx, func(b *open.Backend) error {
		s, err := schedulerOf(b)
		if err != nil {
			return err
		}
		return fn(s)
	})
}

// schedulerOf returns the task scheduler of b (open.ErrNotSupported if it
// has no tasks).
func schedulerOf(b *open.Backend) (*kvtask.Scheduler, error) {
	q, err := b.Queue()
	if err != nil {
		return nil, err
	}
	return kvtask.New(q)
}

// errReadOnly: a write or init on a read-only connection.
var errReadOnly = errors.New("the connection is read-only")
