package kvcore

import (
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
)

// WriteOption sets an optional property of a Put, Patch or mutation.
type WriteOption func(*writeOptions)

type writeOptions struct {
	typ     *string
	ttl     time.Duration
	expires time.Time
	hasExp  bool
}

// WithType records name as the record's type instead of the Go type's name.
func WithType(name string) WriteOption {
	return func(o *writeOptions) { o.typ = &name }
}

// WithTTL makes the record expire d after the write. d must be positive,
// and the expiry no later than MaxTime. A Put without a TTL stores a record
// that never expires; a Patch without one keeps the record's expiry.
func WithTTL(d time.Duration) WriteOption {
	return func(o *writeOptions) { o.ttl = d; o.hasExp = true }
}

// WithExpiry makes the record expire at t, which must be after the write
// and no later than MaxTime.
func WithExpiry(t time.Time) WriteOption {
	return func(o *writeOptions) { o.expires = t; o.hasExp = true }
}

// WithFence returns a view of the store whose every write applies only while
// the lease name is held with exactly token (see kvlock). A write by a stale
// holder fails with ErrFenced and changes nothing.
func (s *Store) WithFence(name string, token int64) *Store {
	c := *s
	c.fence = &driver.Fence{Name: name, Token: token}
	return &c
}

type mutationKind int

const (
	mPut mutationKind = iota + 1
	mPatch
	mDelete
	mDeleteRange
	mTouch
)

// Mutation is one write for MutateAll. Build it with Put, Patch, Delete,
// DeleteVersion, DeletePrefix, DeleteRange, DeleteAll or Touch.
type Mutation struct {
	kind    mutationKind
	key     string
	version int64
	value   any
	prefix  bool // mDeleteRange from a prefix
	all     bool // mDeleteRange over everything
	from    string
	to      string
	offset  int
	limit   int
	opts    []WriteOption
}

// Put is a mutation that writes value (any JSON-marshallable value; []byte
// and json.RawMessage are taken as JSON text) at key if version holds:
// -1 any, 0 only if the key does not exist, N > 0 only if it is at version N.
func Put(key string, version int64, value any, opts ...WriteOption) Mutation {
	return Mutation{kind: mPut, key: key, version: version, value: value, opts: opts}
}

// Patch is a mutation that applies patch to key's value as an RFC 7396 JSON
// merge patch, if version holds. A missing key is patched as if it held {}.
// The record keeps its type and, unless a TTL is given, its expiry.
//
// The merge is exactly RFC 7396: null deletes a member, objects merge
// member by member, and any other value (an array included, with any nulls
// in it) replaces the target's value as it is. Numbers keep their exact
// text; members keep the value's order, new ones following in the patch's.
func Patch(key string, version int64, patch any, opts ...WriteOption) Mutation {
	return Mutation{kind: mPatch, key: key, version: version, value: patch, opts: opts}
}

// Delete is a mutation that deletes key if it exists.
func Delete(key string) Mutation {
	return Mutation{kind: mDelete, key: key, version: -1}
}

// DeleteVersion is a mutation that deletes key only if it is at version.
func DeleteVersion(key string, version int64) Mutation {
	return Mutation{kind: mDelete, key: key, version: version}
}

// DeletePrefix is a mutation that deletes the records whose keys start with
// prefix (which must not be empty; see DeleteAll), in key order, skipping
// offset and deleting at most limit (0: no limit).
func DeletePrefix(prefix string, offset, limit int) Mutation {
	return Mutation{kind: mDeleteRange, prefix: true, from: prefix, offset: offset, limit: limit}
}

// DeleteRange is a mutation that deletes the records with from <= key < to,
// skipping offset and deleting at most limit (0: no limit).
func DeleteRange(from, to string, offset, limit int) Mutation {
	return Mutation{kind: mDeleteRange, from: from, to: to, offset: offset, limit: limit}
}

// DeleteAll is a mutation that deletes every record of the namespace.
func DeleteAll() Mutation {
	return Mutation{kind: mDeleteRange, all: true}
}

// Touch is a mutation that sets a live record's expiry to ttl from now
// (0: never) without changing its value or version. It appends a touch
// entry to the stream (the record's version, no value); a missing key
// appends nothing.
func Touch(key string, version int64, ttl time.Duration) Mutation {
	m := Mutation{kind: mTouch, key: key, version: version}
	if ttl != 0 {
		m.opts = []WriteOption{WithTTL(ttl)}
	}
	return m
}

func (k mutationKind) String() string {
	switch k {
	case mPut:
		return "put"
	case mPatch:
		return "patch"
	case mDelete:
		return "delete"
	case mDeleteRange:
		return "delete range"
	case mTouch:
		return "touch"
	}
	return "unknown"
}
