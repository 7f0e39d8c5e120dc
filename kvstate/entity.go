package kvstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// Entity is one state machine: the state of one id of a machine's kind, as
// last committed. It is safe for concurrent use; its Process calls run one
// at a time. Its machine hands the same Entity to every goroutine that
// loads the id; writers of the id in other processes (or through other
// machines) are kept apart by the state record's version: each commit is
// conditional on the version its writer loaded.
type Entity[S any] struct {
	m    *Machine[S]
	id   string
	keys keys

	process sync.Mutex // held by Process and Reload

	mu  sync.RWMutex // guards cur
	cur snapshot
}

// ID returns the entity's id.
func (e *Entity[S]) ID() string { return e.id }

// Machine returns the entity's machine.
func (e *Entity[S]) Machine() *Machine[S] { return e.m }

// State returns a copy of the entity's committed state (decoded afresh from
// its stored form, so changing it changes nothing else).
func (e *Entity[S]) State() S {
	var s S
	// The stored form decoded when it was loaded or committed; decoding
	// it again cannot fail.
	_ = e.m.decodeState(e.snapshot().state, &s)
	return s
}

// Version returns the version of the entity's state record: how many times
// it has committed (0: never).
func (e *Entity[S]) Version() int64 { return e.snapshot().version }

// Seq returns the number of the entity's last event (0: none).
func (e *Entity[S]) Seq() int64 { return e.snapshot().seq }

func (e *Entity[S]) snapshot() snapshot {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cur
}

func (e *Entity[S]) set(cur snapshot) {
	e.mu.Lock()
	e.cur = cur
	e.mu.Unlock()
}

// Reload reads the entity's committed state again.
func (e *Entity[S]) Reload(ctx context.Context) error {
	e.process.Lock()
	defer e.process.Unlock()
	cur, err := e.m.read(ctx, e)
	if err != nil {
		return err
	}
	e.set(cur)
	return nil
}

// History iterates over the entity's events (see Machine.History).
func (e *Entity[S]) History(ctx context.Context, opts ...HistoryOption) iter.Seq2[Entry, error] {
	return e.m.History(ctx, e.id, opts...)
}

// Process runs the transition for each event in order, on a copy of the
// committed state, and commits in one kvcore MutateAll, conditional on the
// version of the state it ran on: the new state, the events (numbered
// after the entity's last event) and after each one the outbound events its
// transition returned. It returns the outbound events as committed.
//
// If another writer committed first, Process reloads the entity and runs the
// transition again on what it finds, up to the machine's retries (then
// ErrConflict), with a short random wait before each retry. A transition
// error, an unregistered event or a failed write leaves the store as it
// was. Either way the entity holds only committed state: its own commit, or
// what it reloaded after a conflict. Process with no events does nothing.
//
// A write that fails without an answer (a lost connection, a cancelled
// context) may have committed all the same; the entity then finds out at
// its next Process or Reload. Give events an identity that the transition
// can recognise if the caller may send them again.
func (e *Entity[S]) Process(ctx context.Context, events ...any) ([]Entry, error) {
	if len(events) == 0 {
		return nil, nil
	}
	in := make([]encodedEvent, len(events))
	for i, ev := range events {
		name, raw, err := e.m.events.encode(ev)
		if err != nil {
			return nil, e.errorf("process: inbound event %d: %w", i, err)
		}
		in[i] = encodedEvent{name: name, raw: raw, value: ev}
	}
	e.process.Lock()
	defer e.process.Unlock()
	cur := e.snapshot()
	for attempt := 0; ; attempt++ {
		ms, out, next, err := e.run(cur, in)
		if err != nil {
			return nil, e.errorf("process: %w", err)
		}
		_, err = e.m.store.MutateAll(ctx, ms...)
		if err == nil {
			e.set(next)
			return out, nil
		}
		if !errors.Is(err, kvcore.ErrVersionMismatch) {
			return nil, e.errorf("process: %w", err)
		}
		last := attempt >= e.m.retries
		if !last {
			select {
			case <-ctx.Done():
				return nil, e.errorf("process: %w", ctx.Err())
			case <-time.After(retryWait(attempt)):
			}
		}
		fresh, rerr := e.m.read(ctx, e)
		if rerr != nil {
			return nil, rerr
		}
		if fresh.version == cur.version {
			// The state record still has the version the write expected:
			// an event key was in the way.
			return nil, e.errorf("process: %w: events after number %d exist but the state record (version %d) says %d is the last",
				ErrCorrupt, cur.seq, cur.version, fresh.seq)
		}
		e.set(fresh)
		cur = fresh
		if last {
			return nil, e.errorf("process: %w: %d attempts lost to other writers (see WithRetries): %w", ErrConflict, attempt+1, err)
		}
	}
}

// encodedEvent is an inbound event with its name and stored form.
type encodedEvent struct {
	name  string
	raw   json.RawMessage
	value any
}

// run runs the transition for events on a copy of cur and returns the
// mutations that commit the result, the outbound events and the snapshot
// the entity holds once they commit.
func (e *Entity[S]) run(cur snapshot, events []encodedEvent) ([]kvcore.Mutation, []Entry, snapshot, error) {
	var s S
	if err := e.m.decodeState(cur.state, &s); err != nil { // the copy
		return nil, nil, snapshot{}, fmt.Errorf("%w: state: %w", ErrCorrupt, err)
	}
	seq := cur.seq
	ms := make([]kvcore.Mutation, 1, 1+2*len(events))
	var out []Entry
	for i, ev := range events {
		seq++
		ms = append(ms, kvcore.Put(e.keys.event(seq, false), 0, ev.raw, kvcore.WithType(ev.name)))
		produced, err := e.m.transition(&s, ev.value)
		if err != nil {
			return nil, nil, snapshot{}, fmt.Errorf("event %d (%s): %w", i, ev.name, err)
		}
		for j, o := range produced {
			name, raw, err := e.m.events.encode(o)
			if err != nil {
				return nil, nil, snapshot{}, fmt.Errorf("event %d (%s): outbound event %d: %w", i, ev.name, j, err)
			}
			seq++
			key := e.keys.event(seq, true)
			ms = append(ms, kvcore.Put(key, 0, raw, kvcore.WithType(name)))
			out = append(out, Entry{Key: key, Seq: seq, Outbound: true, Name: name, Value: o})
		}
	}
	raw, _, err := e.m.encodeState(&s)
	if err != nil {
		return nil, nil, snapshot{}, err
	}
	// The state record: {"seq":<last event>,"state":<state>}, created
	// (version 0) or updated only at the version the copy came from.
	rec := make([]byte, 0, len(raw)+32)
	rec = append(rec, `{"seq":`...)
	rec = strconv.AppendInt(rec, seq, 10)
	rec = append(rec, `,"state":`...)
	rec = append(append(rec, raw...), '}')
	ms[0] = kvcore.Put(e.keys.state(), cur.version, json.RawMessage(rec), kvcore.WithType(e.m.kind))
	return ms, out, snapshot{state: raw, version: cur.version + 1, seq: seq}, nil
}

// errorf wraps an error with the entity's kind and id.
func (e *Entity[S]) errorf(format string, args ...any) error {
	return fmt.Errorf("kvstate %s %.64q: "+format, append([]any{e.m.kind, e.id}, args...)...)
}

// retryWait is the wait before retry attempt+1: random (so that writers
// that lost together do not meet again), up to 1ms doubling per attempt to
// at most 64ms.
func retryWait(attempt int) time.Duration {
	return rand.N(time.Millisecond << min(attempt, 6))
}
