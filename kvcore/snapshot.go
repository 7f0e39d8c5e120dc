package kvcore

import (
	"context"
	"iter"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
)

// ErrSnapshotChanged: on a backend that cannot hold one read transaction
// across requests (rqlite), a change was committed while a snapshot was
// read, so what it read may mix states. Read again.
var ErrSnapshotChanged = driver.ErrSnapshotChanged

// Snapshot is a read-only view of the whole database (every namespace) at
// one moment, valid during the call of Store.Snapshot that made it. Expiry
// is judged at one time too: the store's clock when the snapshot began.
type Snapshot struct {
	r     driver.Reader
	now   time.Time
	seq   int64
	exact bool
}

// Snapshot calls fn with a Snapshot: every read through it sees the
// database as it was at one moment, with each transaction wholly in it or
// wholly out (a MutateAll's records are all there or none is). On SQLite
// it is one read transaction; on PostgreSQL one REPEATABLE READ, READ ONLY
// transaction; on rqlite, which has no transaction across requests, each
// page is one request and Snapshot returns an error wrapping
// ErrSnapshotChanged if a change was committed while fn read. fn may
// write: writes made while fn runs complete, and the snapshot does not see
// them (an in-memory SQLite database's snapshot reads a copy of the
// database, taken when it begins). It returns fn's error. It needs a
// backend that implements driver.Snapshotter (all of kv's do); otherwise
// the error wraps ErrUnsupported.
func (s *Store) Snapshot(ctx context.Context, fn func(*Snapshot) error) error {
	sn, ok := s.d.(driver.Snapshotter)
	if !ok {
		return Unsupported("snapshot", s.d, "driver.Snapshotter")
	}
	now := s.Now()
	var fnErr error
	err := sn.Snapshot(ctx, func(r driver.Reader) error {
		seq, exact, err := r.StreamSeq(ctx)
		if err != nil {
			return err
		}
		fnErr = fn(&Snapshot{r: r, now: now, seq: seq, exact: exact})
		return fnErr
	})
	if fnErr != nil {
		return fnErr // fn's own error, as it returned it
	}
	return wrap("snapshot", err)
}

// StreamSeq returns the change stream's position in the snapshot: every
// change up to seq is in it, and if exact none after it is (see
// driver.Reader.StreamSeq: PostgreSQL numbers changes after commit, so a
// snapshot may hold a few changes that get later numbers).
func (sn *Snapshot) StreamSeq() (seq int64, exact bool) { return sn.seq, sn.exact }

// Now returns the time the snapshot judges expiry by.
func (sn *Snapshot) Now() time.Time { return sn.now }

// Namespaces returns the namespaces that hold a live record in the
// snapshot, in byte order (as Store.Namespaces).
func (sn *Snapshot) Namespaces(ctx context.Context) ([]string, error) {
	ns, err := sn.r.Namespaces(ctx, sn.now)
	if err != nil {
		return nil, wrap("snapshot namespaces", err)
	}
	return sortedUnique(ns), nil
}

// All iterates over the live records of namespace ns in the snapshot, in
// key order, a page at a time (as Store.All).
func (sn *Snapshot) All(ctx context.Context, ns string, opts ...IterOption) iter.Seq2[Record, error] {
	err := ValidateNamespace(ns)
	query := func(ctx context.Context, sel driver.Selector, now time.Time) ([]driver.Record, error) {
		rows, err := sn.r.Query(ctx, sel, now)
		return rows, wrap("snapshot scan", err)
	}
	return scanPages(ctx, query, func() time.Time { return sn.now }, driver.Selector{Namespace: ns}, err, opts)
}
