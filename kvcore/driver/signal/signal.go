// Package signal is the in-process change signal of backends whose database
// cannot notify (SQLite, rqlite): a Hub that a driver signals after each
// commit that may interest a subscriber, and whose channels implement
// kvstream/driver.Notifier and kvtask/driver.Notifier. It covers the
// commits of one process only; subscribers still poll for other processes'.
package signal

import (
	"context"
	"sync"

	"github.com/kvsuite/kv/kvcore/driver"
)

// Hub fans signals out to its subscribers. The zero Hub is ready to use;
// it must not be copied after first use.
type Hub struct {
	mu     sync.Mutex
	subs   map[chan struct{}]struct{}
	done   chan struct{} // closed by Close; made on first use
	closed bool
}

// Subscribe returns a channel that receives a value after each Signal made
// after it subscribed. Signals are coalesced: the channel holds at most
// one, so a slow subscriber sees one signal for many commits. The channel
// is closed when ctx ends or the Hub is closed. After Close, Subscribe
// returns driver.ErrClosed.
func (h *Hub) Subscribe(ctx context.Context) (<-chan struct{}, error) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, driver.ErrClosed
	}
	if h.subs == nil {
		h.subs = map[chan struct{}]struct{}{}
	}
	if h.done == nil {
		h.done = make(chan struct{})
	}
	h.subs[ch] = struct{}{}
	done := h.done
	h.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}()
	return ch, nil
}

// Signal wakes every subscriber without blocking.
func (h *Hub) Signal() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Close closes every subscriber's channel and refuses new subscriptions.
// It is safe to call more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
	if h.done != nil {
		close(h.done)
	}
}
