package kvlock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Hold is a lease kept alive in the background by renewing it every third of
// its duration. Use Token to fence writes, Lost to learn that the lease is
// gone, and Release to give it up.
type Hold struct {
	l     *Locker
	name  string
	owner string
	d     time.Duration

	mu    sync.Mutex
	lease Lease
	err   error

	lost     chan struct{}
	quit     chan struct{} // closed by Release: renew no more
	quitOnce sync.Once
	done     chan struct{} // closed when the renewing goroutine has returned
	closed   sync.Once
}

// Hold acquires the lease for owner and renews it until ctx ends or Release
// is called. If another owner holds the lease it returns ErrHeld.
func (l *Locker) Hold(ctx context.Context, name, owner string, d time.Duration) (*Hold, error) {
	le, ok, err := l.Acquire(ctx, name, owner, d)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("kv lock %q: %w (owner %q until %s)", name, ErrHeld, le.Owner, le.Expires.Format(time.RFC3339Nano))
	}
	h := &Hold{l: l, name: name, owner: owner, d: d, lease: le,
		lost: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
	go h.renew(ctx)
	return h, nil
}

// Lease returns the lease as last granted.
func (h *Hold) Lease() Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}

// Token returns the fencing token of the lease.
func (h *Hold) Token() int64 { return h.Lease().Token }

// Lost returns a channel that is closed when the lease is lost or the hold
// ends. Err says why.
func (h *Hold) Lost() <-chan struct{} { return h.lost }

// Err returns nil while the lease is held, ErrLost (wrapped) once it was
// lost, or the context's error once the hold's context ended.
func (h *Hold) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Release stops renewing and releases the lease if it is still held. A
// renewal in flight is not cancelled but waited for: cancelled, it could
// still commit on the server after the release and hold the lease again.
// After Release, Err returns context.Canceled unless the lease was lost.
func (h *Hold) Release(ctx context.Context) error {
	h.quitOnce.Do(func() { close(h.quit) })
	<-h.done
	if errors.Is(h.Err(), ErrLost) {
		return nil // lost already: nothing to release
	}
	_, err := h.l.Release(ctx, h.name, h.owner)
	return err
}

func (h *Hold) end(err error) {
	h.closed.Do(func() {
		h.mu.Lock()
		h.err = err
		h.mu.Unlock()
		close(h.lost)
	})
}

func (h *Hold) renew(ctx context.Context) {
	defer close(h.done)
	t := time.NewTicker(h.d / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			h.end(ctx.Err())
			return
		case <-h.quit:
			h.end(context.Canceled)
			return
		case <-t.C:
		}
		le, ok, err := h.l.Acquire(ctx, h.name, h.owner, h.d)
		cur := h.Lease()
		switch {
		case err != nil:
			if ctx.Err() != nil {
				h.end(ctx.Err())
				return
			}
			// Keep trying while the lease may still be ours.
			if !h.l.Now().Before(cur.Expires) {
				h.end(fmt.Errorf("kv lock %q: %w: renewing failed until it expired: %v", h.name, ErrLost, err))
				return
			}
		case !ok:
			h.end(fmt.Errorf("kv lock %q: %w to %q", h.name, ErrLost, le.Owner))
			return
		case le.Token != cur.Token:
			// It expired and was granted to us again: writes fenced with
			// the old token would now fail, so the hold is over.
			h.end(fmt.Errorf("kv lock %q: %w: it expired before renewal (token %d, now %d)", h.name, ErrLost, cur.Token, le.Token))
			return
		default:
			h.mu.Lock()
			h.lease = le
			h.mu.Unlock()
		}
	}
}
