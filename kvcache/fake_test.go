package kvcache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// fakeDB is an in-memory store and stream for the unit tests of the
// cache's own logic: what it installs, drops and when it reads. It does
// only what those tests use (puts, deletes, range deletes and touches,
// expected versions, reads by key, the stream); the real backends are
// tested in the reliability module. The embedded interfaces are nil: any other method panics.
type fakeDB struct {
	coredriver.Store
	streamdriver.Stream

	mu      sync.Mutex
	recs    map[string]coredriver.Record // by namespace + "\x00" + key
	log     []streamdriver.Record
	trimmed int64
	seq     int64

	queries   atomic.Int64 // Query calls
	bounds    atomic.Int64 // Bounds calls
	readFails atomic.Bool  // Read fails while set

	// queried, if set, is called by Query after it has read its answer,
	// before it returns it: it may block to hold a read in flight.
	queried func(keys []string)
	// boundsHook, if set, is called by Bounds before it reads the head.
	boundsHook func()
}

func newFakeDB() *fakeDB { return &fakeDB{recs: map[string]coredriver.Record{}} }

func fkey(ns, key string) string { return ns + "\x00" + key }

func (f *fakeDB) Query(ctx context.Context, sel coredriver.Selector, now time.Time) ([]coredriver.Record, error) {
	f.queries.Add(1)
	f.mu.Lock()
	var out []coredriver.Record
	for _, k := range sel.Keys {
		r, ok := f.recs[fkey(sel.Namespace, k)]
		if ok && (r.Expires.IsZero() || r.Expires.After(now)) {
			r.Value = append([]byte(nil), r.Value...)
			out = append(out, r)
		}
	}
	hook := f.queried
	f.mu.Unlock()
	if hook != nil {
		hook(sel.Keys)
	}
	return out, nil
}

func (f *fakeDB) Apply(ctx context.Context, b coredriver.Batch) ([]coredriver.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, op := range b.Ops { // the fake's batches touch distinct keys
		if op.Kind == coredriver.OpDeleteRange {
			continue
		}
		old, exists := f.recs[fkey(op.Namespace, op.Key)]
		if op.Version == 0 && exists || op.Version > 0 && (!exists || old.Version != op.Version) {
			return nil, &coredriver.OpError{Index: i, Err: coredriver.ErrVersionMismatch}
		}
	}
	res := make([]coredriver.Result, len(b.Ops))
	for i, op := range b.Ops {
		k := fkey(op.Namespace, op.Key)
		old, exists := f.recs[k]
		switch op.Kind {
		case coredriver.OpPut:
			r := coredriver.Record{Namespace: op.Namespace, Key: op.Key, Version: 1, Value: op.Value, Type: op.Type,
				Created: b.Now, Updated: b.Now, Expires: op.Expires}
			action := coredriver.ActionCreate
			if exists {
				r.Version, r.Created, action = old.Version+1, old.Created, coredriver.ActionUpdate
			}
			f.recs[k] = r
			f.append(op.Namespace, op.Key, action, r.Version, op.Value, b.Now)
			res[i] = coredriver.Result{Rows: 1}
		case coredriver.OpDelete:
			if exists {
				delete(f.recs, k)
				f.append(op.Namespace, op.Key, coredriver.ActionDelete, old.Version, nil, b.Now)
				res[i] = coredriver.Result{Rows: 1}
			}
		case coredriver.OpDeleteRange: // Offset and Limit not supported
			for fk, r := range f.recs {
				if r.Namespace == op.Sel.Namespace && r.Key >= op.Sel.From && (!op.Sel.HasTo || r.Key < op.Sel.To) {
					delete(f.recs, fk)
					f.append(r.Namespace, r.Key, coredriver.ActionDelete, r.Version, nil, b.Now)
					res[i].Rows++
				}
			}
		case coredriver.OpTouch:
			if exists {
				old.Expires = op.Expires
				f.recs[k] = old
				f.append(op.Namespace, op.Key, coredriver.ActionTouch, old.Version, nil, b.Now)
				res[i] = coredriver.Result{Rows: 1}
			}
		}
	}
	return res, nil
}

// append adds a stream entry. (mu held)
func (f *fakeDB) append(ns, key, action string, version int64, value []byte, now time.Time) {
	f.seq++
	f.log = append(f.log, streamdriver.Record{Seq: f.seq, Namespace: ns, Key: key, Action: action, Version: version, Value: value, Time: now})
}

func (f *fakeDB) Read(ctx context.Context, q streamdriver.Query) ([]streamdriver.Record, int64, int64, error) {
	if f.readFails.Load() {
		return nil, 0, 0, errFakeRead
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []streamdriver.Record
	for _, r := range f.log {
		if r.Seq > q.After && r.Seq > f.trimmed && len(out) < q.Limit {
			out = append(out, r)
		}
	}
	return out, f.trimmed, f.seq, nil
}

func (f *fakeDB) Bounds(ctx context.Context) (int64, int64, error) {
	f.bounds.Add(1)
	if f.boundsHook != nil {
		f.boundsHook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.trimmed, max(f.seq, f.trimmed), nil
}

// trim drops the stream's entries up to seq.
func (f *fakeDB) trim(seq int64) {
	f.mu.Lock()
	f.trimmed = seq
	f.mu.Unlock()
}

// replace empties the database, as a new one would be (the stream starts
// again at 1).
func (f *fakeDB) replace() {
	f.mu.Lock()
	f.recs, f.log, f.seq, f.trimmed = map[string]coredriver.Record{}, nil, 0, 0
	f.mu.Unlock()
}

func (f *fakeDB) setQueried(hook func(keys []string)) {
	f.mu.Lock()
	f.queried = hook
	f.mu.Unlock()
}

type fakeError string

func (e fakeError) Error() string { return string(e) }

const errFakeRead = fakeError("fake: stream read failed")
