package kvcache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// Errors returned by a Cache. Test for them with errors.Is.
var (
	// ErrInvalidArgument is kvcore.ErrInvalidArgument: an option is not
	// acceptable.
	ErrInvalidArgument = kvcore.ErrInvalidArgument
	// ErrClosed is kvcore.ErrClosed: the cache was closed.
	ErrClosed = kvcore.ErrClosed
)

// Defaults of the options.
const (
	DefaultMaxEntries  = 100_000
	DefaultMaxBytes    = 64 << 20
	DefaultStaleness   = time.Second
	DefaultCatchUpWait = 20 * time.Millisecond
	DefaultBatch       = 1000
	// freshPoll is how often a fresh cache's follower reads the stream
	// when nothing wakes it (reads wake it when they need it).
	freshPoll = 100 * time.Millisecond
	// minPoll is the shortest poll interval a bounded cache derives.
	minPoll = time.Millisecond
)

// mode is a cache's promise for changes made by other writers.
type mode int

const (
	bounded mode = iota + 1
	fresh
)

// Option configures New.
type Option func(*options) error

type options struct {
	maxEntries  int
	maxBytes    int64
	mode        mode
	staleness   time.Duration
	catchUpWait time.Duration
	poll        time.Duration
	batch       int
	log         *slog.Logger
}

// MaxEntries bounds the number of cached keys (records and keys known to be
// absent); default DefaultMaxEntries. The least recently used go first.
func MaxEntries(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: max entries %d: want 1 or more", ErrInvalidArgument, n)
		}
		o.maxEntries = n
		return nil
	}
}

// MaxBytes bounds the memory the cached entries take, counted as their
// keys, values and type names plus a fixed overhead per entry (about 224
// bytes); default DefaultMaxBytes. The least recently used go first. The
// cache is split into up to 16 shards that share the bounds equally, so a
// record larger than a shard's share is not cached (it is read from the
// database every time).
func MaxBytes(n int64) Option {
	return func(o *options) error {
		if n < entryOverhead {
			return fmt.Errorf("%w: max bytes %d: want %d or more", ErrInvalidArgument, n, entryOverhead)
		}
		o.maxBytes = n
		return nil
	}
}

// Bounded makes the cache answer a read only while its follower has read
// the stream to its end within the last d: a read then reflects every
// change committed at least d before it began, and otherwise goes to the
// database. This is the default, with d = DefaultStaleness.
func Bounded(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: staleness bound %v: want a positive duration", ErrInvalidArgument, d)
		}
		o.mode, o.staleness = bounded, d
		return nil
	}
}

// Fresh makes every read linearizable: it asks the database for the
// stream's head (one query shared by the reads that wait for it at the
// same time), and the cache answers once its follower has applied the
// stream up to that head; if that takes longer than the catch-up wait,
// the read goes to the database.
func Fresh() Option {
	return func(o *options) error {
		o.mode = fresh
		return nil
	}
}

// CatchUpWait sets how long a fresh read (or a Sync after MutateAll) waits
// for the follower to reach the stream's head before it reads the
// database instead; default DefaultCatchUpWait.
func CatchUpWait(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("%w: catch-up wait %v is negative", ErrInvalidArgument, d)
		}
		o.catchUpWait = d
		return nil
	}
}

// PollInterval sets how often the follower reads the stream when nothing
// wakes it (the backend's notifications and reads that need a fresher
// cache do). The default is a quarter of the staleness bound (at least
// 1ms) for a bounded cache, which must poll more often than its bound, and
// 100ms for a fresh one.
func PollInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: poll interval %v: want a positive duration", ErrInvalidArgument, d)
		}
		o.poll = d
		return nil
	}
}

// BatchSize sets how many stream entries the follower reads at a time
// (default DefaultBatch, at most kvstream.MaxLimit).
func BatchSize(n int) Option {
	return func(o *options) error {
		if n < 1 || n > kvstream.MaxLimit {
			return fmt.Errorf("%w: batch size %d: want 1 to %d", ErrInvalidArgument, n, kvstream.MaxLimit)
		}
		o.batch = n
		return nil
	}
}

// WithLogger sets where the follower logs: a failing stream read (warn,
// once until it succeeds again), the recovery (info) and a dropped cache
// (info). Default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidArgument)
		}
		o.log = l
		return nil
	}
}

// Cache answers reads of one kvcore.Store namespace from memory, kept
// exact by following the change stream. It is safe for concurrent use.
// Create it with New and Close it when done.
type Cache struct {
	store  *kvcore.Store
	stream *kvstream.Stream
	notify streamdriver.Notifier // nil if the backend has none
	ns     string
	opts   options

	seed   maphash.Seed
	shards []*shard
	mask   uint64

	// pos is the last stream position the follower has applied (-1 until
	// its first read of the head). Entries with seq <= pos have been
	// applied to every shard.
	pos atomic.Int64
	// caughtUp is when (nanoseconds on the cache's monotonic clock) the
	// last stream read began that returned everything up to the stream's
	// end; 0 if none yet.
	caughtUp atomic.Int64
	base     time.Time // the origin of caughtUp's clock

	progressMu sync.Mutex
	progress   chan struct{} // closed and replaced after each step of the follower
	wake       chan struct{} // a read or Sync asks the follower to read now
	gap        atomic.Bool   // the head was seen below pos: the follower must start again

	heads heads

	bypassed, resets, followErrors atomic.Int64
	lastErr                        atomic.Pointer[errorBox]

	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}  // closed when the follower has stopped
	bg        sync.WaitGroup // the head queries in flight
	closed    atomic.Bool
	closeOnce sync.Once
}

// errorBox holds an error for an atomic.Pointer.
type errorBox struct{ err error }

// New returns a cache over store, following the change stream of the same
// database through stream (the backend's *DB, which implements
// kvstream's driver). It starts the follower, which first reads the
// stream's head; until it has, reads go to the database. The cache covers
// store's namespace only, and does not close store or stream.
func New(store *kvcore.Store, stream streamdriver.Stream, opts ...Option) (*Cache, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalidArgument)
	}
	if stream == nil {
		return nil, fmt.Errorf("%w: nil stream driver", ErrInvalidArgument)
	}
	o := options{maxEntries: DefaultMaxEntries, maxBytes: DefaultMaxBytes, mode: bounded, staleness: DefaultStaleness,
		catchUpWait: DefaultCatchUpWait, batch: DefaultBatch, log: slog.Default()}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("kv cache: %w", err)
		}
	}
	if o.poll == 0 {
		o.poll = freshPoll
		if o.mode == bounded {
			o.poll = max(o.staleness/4, minPoll)
		}
	}
	if o.mode == bounded && o.poll >= o.staleness {
		return nil, fmt.Errorf("kv cache: %w: poll interval %v must be shorter than the staleness bound %v", ErrInvalidArgument, o.poll, o.staleness)
	}
	st, err := kvstream.New(stream)
	if err != nil {
		return nil, fmt.Errorf("kv cache: %w", err)
	}
	c := &Cache{store: store, stream: st, ns: store.NamespaceName(), opts: o, seed: maphash.MakeSeed(),
		base: time.Now(), progress: make(chan struct{}), wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.notify, _ = stream.(streamdriver.Notifier)
	n := shardCount(o.maxEntries, o.maxBytes)
	c.shards = make([]*shard, n)
	c.mask = uint64(n - 1)
	for i := range c.shards {
		c.shards[i] = newShard(o.maxEntries/n, o.maxBytes/int64(n))
	}
	c.pos.Store(-1)
	c.heads.c = c
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.follow()
	return c, nil
}

// shardCount is the number of shards for a cache of maxEntries and
// maxBytes: a power of two up to 16, each with room for at least 64
// entries (of the fixed overhead alone).
func shardCount(maxEntries int, maxBytes int64) int {
	n := 1
	for n < 16 && maxEntries/(n*2) >= 64 && maxBytes/int64(n*2) >= 64*entryOverhead {
		n *= 2
	}
	return n
}

func (c *Cache) shard(key string) *shard {
	return c.shards[maphash.String(c.seed, key)&c.mask]
}

// Store returns the store under the cache. Reads made on it directly go to
// the database; writes made on it directly reach the cache through the
// stream, as other writers' do (not with read-your-writes).
func (c *Cache) Store() *kvcore.Store { return c.store }

// Close stops the follower. Every later call of the cache returns an
// error wrapping ErrClosed. It does not close the store. It is safe to
// call more than once.
func (c *Cache) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.cancel()
		<-c.done
		c.heads.stop()
		c.clear()
	})
	return nil
}

func (c *Cache) checkOpen(op string) error {
	if c.closed.Load() {
		return fmt.Errorf("kv cache %s: %w", op, ErrClosed)
	}
	return nil
}

// clear drops every entry and makes every fill in flight stale. A fill
// registered in a shard after the shard was cleared reads the database
// after the clear began.
func (c *Cache) clear() {
	for _, s := range c.shards {
		s.clear()
	}
}

// invalidate drops key after a change of it (a stream entry, or a write
// through the cache): whatever entry or fill in flight it had may predate
// the change.
func (c *Cache) invalidate(key string) { c.shard(key).invalidate(key) }

// Stats are a cache's counters since New and its state now.
type Stats struct {
	// Hits are reads of a key answered from memory (a record, or the
	// knowledge that the key is absent).
	Hits int64 `json:"hits"`
	// Misses are reads of a key the cache did not hold (or held expired),
	// answered by the database; Shared of them waited for the same key's
	// read of the database that another read had begun.
	Misses int64 `json:"misses"`
	Shared int64 `json:"shared"`
	// Bypassed are reads that went to the database without looking at the
	// cache, because the follower was too far behind for the cache's
	// promise (see Bounded and Fresh).
	Bypassed int64 `json:"bypassed"`
	// Entries and Bytes are what the cache holds now (see MaxBytes for how
	// bytes are counted).
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"`
	// Evictions are entries dropped to stay within the bounds; TooLarge
	// records not cached because they alone exceed a shard's byte share.
	Evictions int64 `json:"evictions"`
	TooLarge  int64 `json:"too_large"`
	// Invalidations are entries dropped because their key changed (a
	// stream entry, or a write through the cache) or the cache was cleared.
	Invalidations int64 `json:"invalidations"`
	// Resets count the times the whole cache was dropped and the follower
	// started again at the stream's head: its position was trimmed away,
	// or the stream's head went below it.
	Resets int64 `json:"resets"`
	// Position is the last stream position the follower applied (-1 before
	// its first read).
	Position int64 `json:"position"`
	// Lag is how long ago the follower last began a read that reached the
	// end of the stream (the cache reflects every change committed before
	// then); -1 if it never has.
	Lag time.Duration `json:"lag"`
	// FollowErrors counts failed stream reads; LastError is the last one.
	FollowErrors int64 `json:"follow_errors"`
	LastError    error `json:"-"`
}

// HitRate is Hits over all reads of keys (hits, misses and bypassed), or
// 0 if there were none.
func (s Stats) HitRate() float64 {
	n := s.Hits + s.Misses + s.Bypassed
	if n == 0 {
		return 0
	}
	return float64(s.Hits) / float64(n)
}

// Stats returns the cache's counters and state.
func (c *Cache) Stats() Stats {
	st := Stats{Bypassed: c.bypassed.Load(), Resets: c.resets.Load(), Position: c.pos.Load(),
		FollowErrors: c.followErrors.Load(), Lag: -1}
	if b := c.lastErr.Load(); b != nil {
		st.LastError = b.err
	}
	if at := c.caughtUp.Load(); at != 0 {
		st.Lag = c.since(at)
	}
	for _, s := range c.shards {
		s.mu.Lock()
		st.Hits += s.hits
		st.Misses += s.misses
		st.Shared += s.shared
		st.Entries += len(s.entries)
		st.Bytes += s.bytes
		st.Evictions += s.evictions
		st.TooLarge += s.tooLarge
		st.Invalidations += s.invalidations
		s.mu.Unlock()
	}
	return st
}

// now is the cache's monotonic clock, in nanoseconds since New (never 0).
func (c *Cache) now() int64 { return int64(time.Since(c.base)) + 1 }

// since is how long ago the clock reading at was.
func (c *Cache) since(at int64) time.Duration { return time.Duration(c.now() - at) }

// changedNothing reports whether a write's error says that the write
// changed nothing for certain (a failed condition or bad input), so no
// entry needs dropping.
func changedNothing(err error) bool {
	for _, e := range []error{kvcore.ErrVersionMismatch, kvcore.ErrFenced, kvcore.ErrInvalidKey,
		kvcore.ErrInvalidValue, kvcore.ErrInvalidArgument, kvcore.ErrNotFound, ErrClosed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
