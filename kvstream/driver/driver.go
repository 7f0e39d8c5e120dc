// Package driver defines the interface (SPI) a backend implements for
// kvstream: reading the change stream that kvcore writes, trimming it, and
// keeping named consumers' positions.
//
// The stream itself is written by the backend's kvcore driver: one entry per
// committed change, in the same transaction (see kvcore/driver.Store.Apply).
// A driver never reads its own clock: the front passes now.
package driver

import (
	"context"
	"errors"
	"time"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
)

// ErrFenced is kvcore's: a fenced commit's lease was no longer held.
var ErrFenced = coredriver.ErrFenced

// ErrNoConsumer: the consumer does not exist.
var ErrNoConsumer = errors.New("no such consumer")

// Record is one stream entry.
type Record struct {
	Seq       int64
	Namespace string
	Key       string
	Action    string // coredriver.ActionCreate, ActionUpdate, ActionDelete or ActionTouch
	Version   int64
	Type      string
	Value     []byte // nil for a delete and a touch
	Time      time.Time
}

// Query selects stream entries.
type Query struct {
	After        int64 // entries with Seq > After
	Limit        int   // at most this many (> 0)
	Namespace    string
	HasNamespace bool   // only entries of Namespace
	Type         string // only entries of this type ("" any)
}

// Consumer is a named consumer's durable state.
type Consumer struct {
	Name     string
	Position int64 // the last committed seq: the consumer has handled every entry <= Position
	Updated  time.Time
}

// Stream is what a backend implements for kvstream. It embeds the Locker,
// whose leases fence consumers (lease name "kvstream/consumer/" + name).
type Stream interface {
	lockdriver.Locker

	// Read returns up to q.Limit entries matching q with Seq > q.After, in
	// Seq order, the trim watermark (the highest seq Trim removed, 0 if
	// none) and the highest seq Read can return (as Bounds' last), both read
	// consistently with the entries (one snapshot): every entry matching q
	// with q.After < Seq <= last is in entries, or after the last of them
	// when q.Limit entries were returned. So the front knows how far a
	// filtered read looked, matching entries or not.
	//
	// Gap-free: Read never returns an entry while an entry with a lower seq
	// may still become visible (an uncommitted transaction holds it). On a
	// database that hands out sequence numbers before commit, a driver reads
	// only below the oldest transaction still in flight.
	Read(ctx context.Context, q Query) (entries []Record, trimmed, last int64, err error)

	// Bounds returns the trim watermark and the highest seq Read can return
	// (0 if none); last is never below trimmed.
	Bounds(ctx context.Context) (trimmed, last int64, err error)

	// Trim removes entries with Seq <= upTo. If keepConsumers, it removes
	// none above the lowest consumer position. It returns the watermark
	// after trimming, which never decreases and is never raised above the
	// highest seq written. A negative upTo is an error wrapping
	// kvcore.ErrInvalidArgument, and trims nothing.
	Trim(ctx context.Context, upTo int64, keepConsumers bool) (int64, error)

	// Consumer returns a consumer's state and whether it exists.
	Consumer(ctx context.Context, name string) (Consumer, bool, error)

	// Consumers returns every consumer, ordered by name.
	Consumers(ctx context.Context) ([]Consumer, error)

	// CreateConsumer creates name at position - raised to the trim
	// watermark if it is below it, so a new consumer starts where the stream
	// does - if it does not exist, and returns the stored consumer either way.
	CreateConsumer(ctx context.Context, name string, position int64, now time.Time) (Consumer, error)

	// Commit sets an existing consumer's position (ErrNoConsumer if it does
	// not exist). With a fence, it applies only if the fence's lease is held
	// with its token at now, checked in the same statement or transaction,
	// else ErrFenced (which wins if the consumer is also missing).
	Commit(ctx context.Context, name string, position int64, fence *coredriver.Fence, now time.Time) error

	// DeleteConsumer deletes a consumer and reports whether it existed.
	DeleteConsumer(ctx context.Context, name string) (bool, error)
}

// Notifier is implemented by a Stream that can signal new entries
// (PostgreSQL LISTEN/NOTIFY, an in-process signal on SQLite). Without it,
// consumers poll.
type Notifier interface {
	// Subscribe returns a channel that receives a value after new entries
	// may have become readable (signals may be coalesced or spurious). It
	// is closed when ctx ends.
	Subscribe(ctx context.Context) (<-chan struct{}, error)
}
