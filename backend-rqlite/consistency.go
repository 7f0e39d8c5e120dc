package rqlitekv

import (
	"context"
	"strings"
)

// Consistency is rqlite's read consistency level.
type Consistency string

// The read consistency levels rqlite offers (see the package doc).
const (
	// ConsistencyNone reads the local node's database without any check;
	// reads may be stale.
	ConsistencyNone Consistency = "none"
	// ConsistencyWeak reads on the leader after a local leadership check
	// (rqlite's default, and this driver's).
	ConsistencyWeak Consistency = "weak"
	// ConsistencyLinearizable reads on the leader after confirming its
	// leadership with a quorum (rqlite 8.32 and later; older servers take
	// an unknown level as weak).
	ConsistencyLinearizable Consistency = "linearizable"
	// ConsistencyStrong sends every read through Raft.
	ConsistencyStrong Consistency = "strong"
)

// DefaultConsistency is the read consistency used unless the connection
// string or WithConsistency says otherwise.
const DefaultConsistency = ConsistencyWeak

// ParseConsistency parses a consistency level name (none, weak,
// linearizable or strong; case does not matter).
func ParseConsistency(s string) (Consistency, error) {
	switch c := Consistency(strings.ToLower(strings.TrimSpace(s))); c {
	case ConsistencyNone, ConsistencyWeak, ConsistencyLinearizable, ConsistencyStrong:
		return c, nil
	}
	return "", invalidConn("unknown consistency level %q (want none, weak, linearizable or strong)", s)
}

// levelKey is the context key of a call's read consistency.
type levelKey struct{}

// WithReadConsistency returns a context whose reads through this driver
// (Get, lists, counts, stream and lease reads, the read before a Patch:
// every call that reads on rqlite's /db/query) use level c instead of the
// connection's. Writes are not affected: they always go through the leader
// and Raft. kvcore's front passes the context through unchanged, so
//
//	ctx := rqlitekv.WithReadConsistency(ctx, rqlitekv.ConsistencyStrong)
//	rec, ok, err := store.Get(ctx, "k", &v)
//
// reads "k" through Raft while the store's other reads keep the
// connection's level. A read with a level that is not one of the four
// constants fails with an error wrapping kvcore.ErrInvalidArgument, and
// sends nothing.
func WithReadConsistency(ctx context.Context, c Consistency) context.Context {
	return context.WithValue(ctx, levelKey{}, c)
}

// ReadConsistency returns the level WithReadConsistency put in ctx, if any.
func ReadConsistency(ctx context.Context) (Consistency, bool) {
	c, ok := ctx.Value(levelKey{}).(Consistency)
	return c, ok
}

// checkReadConsistency returns an error for a call's level that rqlite
// does not know (op names the call).
func checkReadConsistency(ctx context.Context, op string) error {
	c, ok := ReadConsistency(ctx)
	if !ok {
		return nil
	}
	switch c {
	case ConsistencyNone, ConsistencyWeak, ConsistencyLinearizable, ConsistencyStrong:
		return nil
	}
	return invalidArg(op, "read consistency %q from the context is not none, weak, linearizable or strong", string(c))
}
