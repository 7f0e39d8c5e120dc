package faults_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// writeLog is what the writers did: every acknowledged write, and every
// error they saw.
type writeLog struct {
	mu        sync.Mutex
	acked     map[string]string // key -> the value of its last acknowledged write
	writes    int               // acknowledged writes (creates and updates)
	retried   int               // writes acknowledged on a retry after a failed attempt
	ambiguous int               // failed attempts later found to have committed
	// resent says to look for a client sending a write again by itself
	// after a lost answer (gorqlite does, to the next node; rqlitekv's
	// recorded requests are applied once): a first attempt's version
	// mismatch is then resolved by reading back, like a retry's, and
	// counted in hiddenResends when the key holds the value written.
	resent        bool
	hiddenResends int
	errs          errorLog
	lastAck       time.Time
}

func newWriteLog() *writeLog { return &writeLog{acked: map[string]string{}} }

// count returns the number of acknowledged writes.
func (w *writeLog) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

// ackedSince reports whether a write was acknowledged after t.
func (w *writeLog) ackedSince(t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastAck.After(t)
}

// ack records an acknowledged write; retried says it took more than one
// attempt, ambiguous that a failed attempt had in fact committed.
func (w *writeLog) ack(key, value string, retried, ambiguous bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.acked[key] = value
	w.writes++
	w.lastAck = time.Now()
	if retried {
		w.retried++
	}
	if ambiguous {
		w.ambiguous++
	}
}

// runWriter writes keys <prefix>NNNNNN with values no other write uses
// until stop is closed: each key is created with version 0 and every third
// one is then updated with version 1 (both conditional). A write that fails
// is retried until its outcome is known; a retry that finds a version
// mismatch reads the key to learn whether the failed attempt committed.
// It returns the first error that is not a fault's (a wrong value read
// back).
func runWriter(s *kvcore.Store, prefix string, log *writeLog, stop <-chan struct{}) error {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return nil
		default:
		}
		key := fmt.Sprintf("%s%06d", prefix, n)
		if err := writeResolved(s, key, 0, key+"/v1", log); err != nil {
			return err
		}
		if n%3 == 0 {
			if err := writeResolved(s, key, 1, key+"/v2", log); err != nil {
				return err
			}
		}
	}
}

// writeResolved puts value at key if it is at version, retrying through
// faults until the write is acknowledged or found committed. It gives up,
// with an error, if the write still fails resolveWithin after its first
// failure (the pool did not recover).
func writeResolved(s *kvcore.Store, key string, version int64, value string, log *writeLog) error {
	var firstFailure time.Time
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.Put(ctx, key, version, value)
		if errors.Is(err, kvcore.ErrVersionMismatch) && (!firstFailure.IsZero() || log.resent) {
			// An earlier attempt may have committed without its answer
			// arriving: the key then holds this value.
			var got string
			_, ok, gerr := s.Get(ctx, key, &got)
			switch {
			case gerr != nil:
				log.errs.add("get", gerr)
			case ok && got == value:
				cancel()
				if firstFailure.IsZero() {
					log.mu.Lock()
					log.hiddenResends++
					log.mu.Unlock()
				}
				log.ack(key, value, !firstFailure.IsZero(), !firstFailure.IsZero())
				return nil
			default:
				cancel()
				return fmt.Errorf("put %s at version %d: version mismatch, and the key holds %q (found %t), not the value written", key, version, got, ok)
			}
		} else {
			switch {
			case err == nil:
				cancel()
				log.ack(key, value, !firstFailure.IsZero(), false)
				return nil
			case errors.Is(err, kvcore.ErrVersionMismatch):
				cancel()
				return fmt.Errorf("put %s at version %d: %w (no earlier attempt)", key, version, err)
			}
			log.errs.add("put", err)
		}
		cancel()
		if firstFailure.IsZero() {
			firstFailure = time.Now()
		} else if time.Since(firstFailure) > resolveWithin {
			return fmt.Errorf("put %s still failing %v after its first failure: %w", key, resolveWithin, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// resolveWithin bounds how long an operation may keep failing after a
// fault before the test calls the pool unrecovered.
const resolveWithin = 60 * time.Second

// errorLog keeps the errors operations returned during faults and notes
// those that are not clear: a clear error names the operation ("kv put",
// "kv task claim", ...) and wraps its cause (errors.Unwrap reaches the
// driver's error).
type errorLog struct {
	mu      sync.Mutex
	n       int
	samples map[string]string // operation -> one message
	unclear []string
}

// add records err, returned by the operation op ("put", "task new", ...).
func (l *errorLog) add(op string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if l.samples == nil {
		l.samples = map[string]string{}
	}
	if _, ok := l.samples[op]; !ok {
		l.samples[op] = err.Error()
	}
	if !clearError(op, err) && len(l.unclear) < 10 {
		l.unclear = append(l.unclear, fmt.Sprintf("%s: %q", op, err.Error()))
	}
}

// count returns how many errors were recorded.
func (l *errorLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// clearError reports whether err names op and wraps a cause: its message
// starts with "kv <op>" and it unwraps at least twice (kv's operation, the
// backend's wrapping, the cause), or once to kv's own ErrFenced (an
// outcome, not a failure: a consumer's commit after its lease was lost in
// a fault, say, names the commit and is the cause itself).
func clearError(op string, err error) bool {
	if !strings.HasPrefix(err.Error(), "kv "+op) {
		return false
	}
	cause := errors.Unwrap(err)
	if errors.Is(cause, kvcore.ErrFenced) {
		return true
	}
	return cause != nil && (errors.Unwrap(cause) != nil || isJoinedOrMulti(cause))
}

// isJoinedOrMulti reports whether err wraps several errors.
func isJoinedOrMulti(err error) bool {
	_, ok := err.(interface{ Unwrap() []error })
	return ok
}
