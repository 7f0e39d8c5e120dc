package driver

import (
	"context"
	"errors"
	"time"
)

// ErrSnapshotChanged is returned by a Snapshotter that cannot hold one read
// transaction across requests (rqlite) when it finds that a change was
// committed while fn read: what fn read may mix states from before and
// after it.
var ErrSnapshotChanged = errors.New("the database changed while the snapshot was read")

// Snapshotter is implemented by a Store that can serve many reads from one
// consistent state of the database (optional; kvcore.Store.Snapshot needs
// it). kv export reads through it.
type Snapshotter interface {
	// Snapshot calls fn with a Reader whose reads all see the database as
	// it was at one moment: every transaction committed before that moment
	// is wholly visible, and none committed after it is. The Reader may be
	// used only during fn, from one goroutine at a time. Snapshot returns
	// fn's error, or an error of beginning or ending the read. A backend
	// that cannot keep the moment fixed across requests checks that no
	// change was committed between the first read and the end of fn, and
	// otherwise returns an error wrapping ErrSnapshotChanged. Writes made
	// while fn runs, from fn's goroutine too, complete without waiting for
	// fn to return.
	Snapshot(ctx context.Context, fn func(r Reader) error) error
}

// Reader reads one snapshot of the database (see Snapshotter).
type Reader interface {
	// Query is Store.Query in the snapshot, for a range selector
	// (sel.Keys is nil).
	Query(ctx context.Context, sel Selector, now time.Time) ([]Record, error)
	// Namespaces is NamespaceLister.Namespaces in the snapshot.
	Namespaces(ctx context.Context, now time.Time) ([]string, error)
	// StreamSeq returns the position of the change stream that the
	// snapshot holds: every change whose stream entry has a seq up to seq
	// is in the snapshot (0: the stream has had no entry). exact is true if
	// no change with a later seq is in it either; it is false on a backend
	// that numbers its stream after commit (PostgreSQL) when the snapshot
	// holds changes that were committed but not yet numbered.
	StreamSeq(ctx context.Context) (seq int64, exact bool, err error)
}
