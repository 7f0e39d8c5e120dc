package rqlitekv

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/kvsuite/kv/kvcore/driver"
)

// Group commit. Concurrent Applies share rqlite requests: each caller
// queues its batch; one sender takes every batch waiting (without waiting
// for more: a lone caller is sent at once) and sends them as one request,
// in one transaction, so that they cost one HTTP round trip and one Raft
// entry.
//
// A failed statement (a guard of a version mismatch or a fence, or any
// other error) rolls the whole request back, so no caller's change is
// applied by a request that failed. Who gets the error follows from where
// it failed:
//   - in the first batch of the request: that batch ran on the state the
//     previous request committed, a state that really existed during its
//     call, so its caller gets the error (as it would alone); the others are
//     sent again;
//   - in a later batch: it ran after its neighbours' uncommitted writes, so
//     the error proves nothing. The batches before it are sent again on
//     their own, then it leads the next request with the rest.
//
// Every caller thus gets the result of its own batch on a committed state:
// one caller's mismatch never fails another, at the price of extra
// requests when batches fail.

// Limits of one shared request: at most maxGroupCallers batches, and no
// more batches are added once it has maxGroupStmts statements.
const (
	maxGroupCallers = 64
	maxGroupStmts   = 4096
)

// pending is one Apply waiting for the sender.
type pending struct {
	ctx   context.Context
	q     *batch
	state atomic.Int32 // pendQueued, then pendSent (by the sender) or pendAbandoned (by the caller)
	done  chan outcome // buffered: the sender never blocks on a caller
}

const (
	pendQueued int32 = iota
	pendSent
	pendAbandoned
)

// outcome is a batch's results (its own statements' part of the request)
// or its error.
type outcome struct {
	res []stmtResult
	err error
}

// submit hands q to the sender and waits for its results. If ctx ends
// before q is sent, q is never sent; if it ends while q is in flight,
// submit returns at once and q may still commit.
func (db *DB) submit(ctx context.Context, q *batch) ([]stmtResult, error) {
	p := &pending{ctx: ctx, q: q, done: make(chan outcome, 1)}
	select {
	case db.applies <- p:
	case <-db.closing:
		return nil, driver.ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("rqlitekv: apply: %w", ctx.Err())
	}
	select {
	case o := <-p.done:
		return o.res, o.err
	case <-ctx.Done():
		p.state.CompareAndSwap(pendQueued, pendAbandoned)
		return nil, fmt.Errorf("rqlitekv: apply: %w", ctx.Err())
	}
}

// sendLoop is the sender: it takes a batch, then every batch already
// waiting (within the limits), and sends them together; until Close.
func (db *DB) sendLoop() {
	group := make([]*pending, 0, maxGroupCallers)
	for {
		select {
		case p := <-db.applies:
			group = append(group[:0], p)
		case <-db.closing:
			return
		}
		n := len(group[0].q.stmts)
	drain:
		for len(group) < maxGroupCallers && n < maxGroupStmts {
			select {
			case p := <-db.applies:
				group = append(group, p)
				n += len(p.q.stmts)
			default:
				break drain
			}
		}
		db.sendGroup(group)
		clear(group)
	}
}

// sendGroup sends the batches of group whose callers still wait.
func (db *DB) sendGroup(group []*pending) {
	live := make([]*pending, 0, len(group))
	for _, p := range group {
		if err := p.ctx.Err(); err != nil || !p.state.CompareAndSwap(pendQueued, pendSent) {
			if err == nil {
				err = context.Canceled
			}
			p.done <- outcome{err: fmt.Errorf("rqlitekv: apply: %w", err)}
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	ctx, stop := groupContext(live)
	defer stop()
	defer func() {
		// The sender must survive, and no caller may wait forever.
		if r := recover(); r != nil {
			err := fmt.Errorf("rqlitekv: apply: internal error in the sender: %v", r)
			for _, p := range live {
				select {
				case p.done <- outcome{err: err}:
				default: // already answered
				}
			}
		}
	}()
	db.sendTogether(ctx, live)
}

// groupContext returns a context that ends when every caller of live has
// given up (so that a request nobody waits for is abandoned, but one
// caller's cancellation does not break the others' request), and a
// function that releases it.
func groupContext(live []*pending) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var left atomic.Int64
	left.Store(int64(len(live)))
	stops := make([]func() bool, len(live))
	for i, p := range live {
		stops[i] = context.AfterFunc(p.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		cancel()
	}
}

// sendTogether sends the batches of live as one request and answers each
// caller, sending again as the comment at the top of this file describes when a statement
// fails.
func (db *DB) sendTogether(ctx context.Context, live []*pending) {
	for len(live) > 0 {
		if len(live) == 1 {
			res, err := db.sendRecorded(ctx, "apply", live[0].q)
			live[0].done <- outcome{res: res, err: err}
			return
		}
		all := &batch{}
		ends := make([]int, len(live)) // the end of each batch's statements
		for i, p := range live {
			all.stmts = append(all.stmts, p.q.stmts...)
			all.roles = append(all.roles, p.q.roles...)
			all.ops = append(all.ops, p.q.ops...)
			ends[i] = len(all.stmts)
		}
		r, err := db.requestRecorded(ctx, "apply", all)
		if err != nil {
			answerAll(live, err)
			return
		}
		j := r.failed
		if j < 0 {
			start := 0
			for i, p := range live {
				p.done <- outcome{res: r.vals[start:ends[i]]}
				start = ends[i]
			}
			return
		}
		c := 0
		for ends[c] <= j {
			c++
		}
		if c == 0 {
			live[0].done <- outcome{err: db.statementError("apply", live[0].q, r.res, j)}
			live = live[1:]
			continue
		}
		db.sendTogether(ctx, live[:c])
		live = live[c:]
	}
}

// answerAll fails every batch of live with err.
func answerAll(live []*pending, err error) {
	for _, p := range live {
		p.done <- outcome{err: err}
	}
}
