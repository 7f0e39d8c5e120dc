package postgreskv

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Concurrent reads of one DB share sequencer steps.
//
// Read and Bounds run a sequencer step before their statement, so that
// they see every write that committed before they were called. Steps
// serialize on the sequencer's advisory lock, and a step that gave rows
// positions commits with a WAL flush; if every read ran its own, several
// readers of one process woken at once (consumers woken by the same
// notification) would queue their steps on the lock, each holding a pooled
// connection while it waits.
//
// A read that finds no step of its DB in flight runs one itself, with its
// statement after it, in one round trip. A read that finds a step in
// flight cannot rely on it: that step may have taken its snapshot before
// the caller's write committed. It waits, holding no connection, for the
// next step instead, which starts once the one in flight has ended and
// serves every read that arrived meanwhile; then it sends its statement
// alone. A step's snapshot is taken after it holds the lock, so the next
// step sees every write that committed before its readers were called. A
// DB thus runs one step at a time.

// stepWave is one sequencer step and the reads that wait for it.
type stepWave struct {
	done    chan struct{}      // closed when the step has committed or failed
	err     error              // the step's error, set before done is closed
	waiters int                // reads waiting for it that have not given up
	ctx     context.Context    // the step's context (nil for a step a read runs itself)
	cancel  context.CancelFunc // ends ctx, once no read waits for the step
}

// stepper is a DB's state of shared steps.
type stepper struct {
	mu   sync.Mutex
	cur  *stepWave // the step in flight, nil if none
	next *stepWave // the step that starts when cur ends, nil if none
}

// join returns the step a read that starts now is to wait for. lead is
// true if there was no step in flight: the read then runs w itself (and
// ends it with finishStep); otherwise it waits for w (see wait).
func (s *stepper) join() (w *stepWave, lead bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		s.cur = &stepWave{done: make(chan struct{})}
		return s.cur, true
	}
	if s.next == nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.next = &stepWave{done: make(chan struct{}), ctx: ctx, cancel: cancel}
	}
	s.next.waiters++
	return s.next, false
}

// finishStep records the outcome of w, the step in flight, and starts the next
// step if reads wait for one.
func (db *DB) finishStep(w *stepWave, err error) {
	s := &db.steps
	s.mu.Lock()
	w.err = err
	close(w.done)
	s.cur, s.next = s.next, nil
	next := s.cur
	s.mu.Unlock()
	if next != nil {
		go db.runStep(next)
	}
}

// runStep runs the step w for the reads that wait for it.
func (db *DB) runStep(w *stepWave) {
	b := &pgx.Batch{}
	db.sequenceStatements(b)
	br := db.pool.SendBatch(w.ctx, b)
	err := stepResults(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	db.finishStep(w, err)
	w.cancel()
}

// wait waits until the step w has ended and returns its error, or ctx's
// if ctx ends first. A step that no read waits for any more is not started
// or, if it runs, canceled.
func (s *stepper) wait(ctx context.Context, w *stepWave) error {
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-w.done:
		return w.err
	default:
	}
	if w.waiters--; w.waiters == 0 {
		if s.next == w {
			s.next = nil
		}
		w.cancel()
	}
	return ctx.Err()
}

// waitingReads returns how many reads wait for the next step.
func (s *stepper) waitingReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == nil {
		return 0
	}
	return s.next.waiters
}
