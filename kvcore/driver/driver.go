// Package driver defines the narrow interface (SPI) that a backend implements
// so that kvcore.Store can run on it.
//
// The front (package kvcore) validates every argument, applies defaults,
// computes values (JSON encoding, merge patch, expiry times) and wraps errors.
// A driver receives only validated input and does each operation atomically in
// its own SQL dialect. A driver never calls time.Now for record data: every
// call carries the front's clock reading as Now.
//
// Every rule a driver must follow is checked by the conformance suite
// (github.com/kvsuite/kv/conformance).
package driver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// MaxVersion is the highest version a record can have. A record at
// MaxVersion can still be read, touched and deleted, but not written: a put
// over it would need a version above MaxVersion (see ErrVersionLimit).
const MaxVersion int64 = math.MaxInt64

// Errors a driver returns. The front re-exports them (kvcore.ErrVersionMismatch
// is ErrVersionMismatch), so errors.Is works on either name.
var (
	// ErrVersionMismatch: an operation's expected version did not hold.
	ErrVersionMismatch = errors.New("version mismatch")
	// ErrFenced: the batch's fence (lease and token) was no longer held.
	ErrFenced = errors.New("fenced: lease not held with that token")
	// ErrNotInitialized: the schema is missing or older than the driver needs.
	ErrNotInitialized = errors.New("store not initialized (run Init)")
	// ErrClosed: the driver was closed.
	ErrClosed = errors.New("store closed")
	// ErrInvalidArgument: an argument is not acceptable (the front checks
	// its input; a driver returns it for what only it can judge).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrVersionLimit: a put over a live record at MaxVersion, which cannot
	// be given a higher version. It wraps ErrInvalidArgument: the write can
	// never succeed as it is (retrying cannot help, unlike a version
	// mismatch); deleting the record lets its key start again at version 1.
	ErrVersionLimit = fmt.Errorf("%w: the record is at the highest version, %d (delete it to start its key again at version 1)", ErrInvalidArgument, MaxVersion)
)

// Store is what a backend implements for kvcore.
type Store interface {
	// Init creates or migrates the schema. It is idempotent and safe to call
	// from several processes at once.
	Init(ctx context.Context) error

	// Query returns the live records that sel selects, in ascending byte order
	// of key (for sel.Keys: in the order of sel.Keys, missing keys omitted).
	// A record is live if it has no expiry or its expiry is after now.
	Query(ctx context.Context, sel Selector, now time.Time) ([]Record, error)

	// Count returns how many live records sel selects (sel.After, Offset and
	// Limit are zero in a count).
	Count(ctx context.Context, sel Selector, now time.Time) (int64, error)

	// Apply runs b.Ops in one transaction: all of them or none. If ctx ends
	// while the transaction is in flight, Apply may return ctx's error and
	// the transaction may still commit (as with any database client). For each op it
	// returns a Result, in order. If an op's condition fails it returns an
	// *OpError wrapping ErrVersionMismatch and changes nothing; if b.Fence is
	// not held it returns ErrFenced and changes nothing.
	//
	// Every record that an op creates, updates, deletes or touches appends
	// exactly one stream entry in the same transaction: a sequence number
	// that increases in commit order, the namespace, key, action
	// (ActionCreate, ActionUpdate, ActionDelete or ActionTouch), the version
	// written (or deleted, or kept by a touch), the type, the value (none
	// for a delete or a touch) and b.Now.
	// An expired record counts as absent: a Put over it is a create (version
	// 1, new created time) that first appends a delete entry for the expired
	// record (its last version, no value), since its removal must appear in
	// the stream; a delete of it affects nothing.
	//
	// An OpPut over a live record at MaxVersion (whose expected version
	// holds: a mismatch is reported first) returns an *OpError wrapping
	// ErrVersionLimit and changes nothing; a version never overflows. Ops
	// that keep the version (OpTouch) or end it (OpDelete, OpDeleteRange)
	// work on such a record as on any other.
	//
	// An error means that nothing of the batch was applied, unless it is
	// ctx's (see above) or says that the outcome is unknown: a driver never
	// reports a failure for a batch it committed.
	Apply(ctx context.Context, b Batch) ([]Result, error)

	// Sweep deletes records in every namespace whose expiry is at or before
	// now, appending a delete stream entry for each, and returns how many it
	// removed. It may remove at most limit records per call (limit > 0).
	Sweep(ctx context.Context, now time.Time, limit int) (int64, error)

	// Close releases the driver's resources.
	Close() error
}

// Record is a stored record as a driver reads it.
type Record struct {
	Namespace string
	Key       string
	Version   int64
	Value     []byte // a compact JSON document, exactly as the front gave it
	Type      string
	Created   time.Time // UTC, microsecond precision
	Updated   time.Time // UTC, microsecond precision
	Expires   time.Time // zero: no expiry
}

// Selector selects records of one namespace.
//
// Exactly one of these shapes is used:
//   - Keys != nil: exactly those keys (Offset, Limit and After are zero).
//   - otherwise: the keys k with From <= k (and k < To if HasTo), and of type
//     Type if Type != "", ordered by key; if HasAfter, only keys > After;
//     then Offset records are skipped and at most Limit returned (0: all).
//
// Comparisons are byte-wise (memcmp) on the key's UTF-8 bytes. A driver must
// answer range selectors from an index on (namespace, key) - or
// (namespace, type, key) when Type is set - never by a scan or LIKE.
type Selector struct {
	Namespace string
	Keys      []string
	From      string
	To        string
	HasTo     bool
	Type      string
	After     string
	HasAfter  bool
	Offset    int
	Limit     int
}

// OpKind names what an Op does.
type OpKind int

// The kinds of op.
const (
	// OpPut writes Key with Value, Type and Expires, if Version holds.
	OpPut OpKind = iota + 1
	// OpDelete deletes Key, if Version holds. A missing key affects 0 rows
	// (and with Version > 0 it is a mismatch).
	OpDelete
	// OpDeleteRange deletes the live records that Sel selects (Sel.Keys is
	// nil; Offset and Limit apply in key order). Version is ignored.
	OpDeleteRange
	// OpTouch sets the expiry of a live Key to Expires without changing its
	// value or version, if Version holds. A missing key affects 0 rows
	// (with Version > 0: a mismatch) and appends nothing; a touch of a live
	// record appends an ActionTouch entry (its version and type, no value).
	OpTouch
	// OpRestore writes Key exactly as a backup holds it: Value, Type,
	// Expires, the version SetVersion and the times Created and Updated
	// (not Now). Version is always 0: the key must be absent or expired,
	// else the op is a mismatch. Like OpPut it appends a create entry (with
	// SetVersion; after a delete entry if an expired record was there).
	OpRestore
)

// String returns the op kind's name.
func (k OpKind) String() string {
	switch k {
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	case OpDeleteRange:
		return "delete-range"
	case OpTouch:
		return "touch"
	case OpRestore:
		return "restore"
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Op is one write in a Batch.
//
// Version is the expected version: -1 any, 0 only if the key does not exist
// (or has expired), N > 0 only if the live record's version is exactly N.
type Op struct {
	Kind      OpKind
	Namespace string
	Key       string
	Version   int64
	Value     []byte    // OpPut: compact JSON
	Type      string    // OpPut
	Expires   time.Time // OpPut, OpTouch, OpRestore: zero means no expiry
	Sel       Selector  // OpDeleteRange

	// OpRestore only: the version and the times to store.
	SetVersion int64
	Created    time.Time
	Updated    time.Time
}

// Fence makes a batch conditional on a lease: it applies only if the lease
// Name is held (not expired at Now) with exactly Token.
type Fence struct {
	Name  string
	Token int64
}

// Batch is a unit of work for Apply.
type Batch struct {
	Ops   []Op
	Now   time.Time // the front's clock: created/updated times and expiry checks
	Fence *Fence    // optional
}

// Result is the outcome of one Op.
type Result struct {
	// Rows is how many records the op changed: OpPut and OpRestore 1; OpDelete and
	// OpTouch 0 or 1; OpDeleteRange the number deleted. (A record's version
	// after a write follows from the op and the batch's success, so no
	// driver reports it: the front never needs a read to learn it.)
	Rows int64
}

// OpError says which op of a batch failed. Err is usually ErrVersionMismatch.
type OpError struct {
	Index int
	Err   error
}

// Error says which op failed and why.
func (e *OpError) Error() string { return fmt.Sprintf("op %d: %v", e.Index, e.Err) }

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// Stream actions recorded for each change.
const (
	ActionCreate = "create" // a record was created (version 1, or a restore's version)
	ActionUpdate = "update" // a live record was written (its version grew)
	ActionDelete = "delete" // a record was deleted, or removed once expired
	// ActionTouch: a live record's expiry was set or cleared (Touch); its
	// value and version did not change, and the entry carries no value.
	ActionTouch = "touch"
)
