// Package kvstream reads kv's change stream and keeps named consumers.
//
// Every committed change to a kvcore.Store appends one entry to the stream
// in the same transaction, with a sequence number that grows in commit order:
// a create, update or delete, or a touch (a record's expiry changed, its
// value and version did not).
// Readers see the stream gap-free: never entry N+1 before every entry up to N
// is visible. Named consumers keep a durable position and hold a fenced lease,
// so one instance of a consumer reads at a time and a stale one cannot commit.
package kvstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kvsuite/kv/kvcore"
	coredriver "github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream/driver"
)

// Errors returned by kvstream. Test for them with errors.Is.
var (
	// ErrInvalidArgument is kvcore.ErrInvalidArgument.
	ErrInvalidArgument = kvcore.ErrInvalidArgument
	// ErrTrimmed: the position asked for was trimmed away. The error is a
	// *TrimmedError that says where the stream now starts.
	ErrTrimmed = errors.New("stream position trimmed")
	// ErrFenced is kvcore.ErrFenced: a consumer that lost its lease tried
	// to commit.
	ErrFenced = kvcore.ErrFenced
	// ErrNotFound is kvcore.ErrNotFound: no such consumer.
	ErrNotFound = kvcore.ErrNotFound
)

// TrimmedError says that a read asked for entries that were trimmed.
type TrimmedError struct {
	From  int64 // the first seq asked for
	Start int64 // the first seq the stream can still return
}

// Error says which position was asked for and where the stream now starts.
func (e *TrimmedError) Error() string {
	return fmt.Sprintf("stream position %d was trimmed: the stream now starts at %d", e.From, e.Start)
}

// Unwrap makes errors.Is(err, ErrTrimmed) true.
func (e *TrimmedError) Unwrap() error { return ErrTrimmed }

// The actions of stream entries (Record.Action).
const (
	// ActionCreate: a record was created, at version 1 (or a restored
	// record at its own version). The entry holds its value.
	ActionCreate = coredriver.ActionCreate
	// ActionUpdate: a live record was written; the entry holds its new
	// version and value.
	ActionUpdate = coredriver.ActionUpdate
	// ActionDelete: a record was deleted, or removed once expired (by a
	// sweep, or by a write over it). The entry holds its last version and
	// no value.
	ActionDelete = coredriver.ActionDelete
	// ActionTouch: a live record's expiry was set or cleared (Touch). Its
	// value and version did not change: the entry holds that version and
	// no value. A reader that keeps records must keep the value it has,
	// and read the record again for its new expiry.
	ActionTouch = coredriver.ActionTouch
)

// Record is one stream entry: a change to one key.
type Record struct {
	Seq       int64           `json:"seq"`
	Namespace string          `json:"namespace"`
	Key       string          `json:"key"`
	Action    string          `json:"action"` // ActionCreate, ActionUpdate, ActionDelete or ActionTouch
	Version   int64           `json:"version"`
	Type      string          `json:"type"`
	Value     json.RawMessage `json:"value,omitempty"` // absent for a delete and a touch
	Time      time.Time       `json:"time"`
}

func recordFrom(d driver.Record) Record {
	return Record{Seq: d.Seq, Namespace: d.Namespace, Key: d.Key, Action: d.Action, Version: d.Version,
		Type: d.Type, Value: json.RawMessage(d.Value), Time: d.Time.UTC()}
}

// Filter narrows what a read returns.
type Filter func(*driver.Query)

// OfType keeps only entries of records of type t.
func OfType(t string) Filter {
	return func(q *driver.Query) { q.Type = t }
}

// InNamespace keeps only entries of namespace ns.
func InNamespace(ns string) Filter {
	return func(q *driver.Query) { q.Namespace, q.HasNamespace = ns, true }
}

// Stream reads the change stream of one database and manages its consumers.
// It is safe for concurrent use.
type Stream struct {
	d      driver.Stream
	locker *kvlock.Locker
	now    func() time.Time
	poll   time.Duration
	log    *slog.Logger

	retryMin, retryMax time.Duration // Consumer.Run's backoff after a transient error
}

// The longest idle wait of a continuous consumer, by default: short when
// only polling finds other processes' writes, long (a safety net) when the
// backend's notifications cover every writer.
const (
	pollWithoutNotify = 2 * time.Second
	pollWithNotify    = 30 * time.Second
)

// Option configures New.
type Option func(*Stream)

// WithClock sets the clock for leases and consumer times (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *Stream) {
		if now != nil {
			s.now = now
		}
	}
}

// WithMaxPoll sets the longest a continuous consumer waits between reads
// when idle. The default is 2s, and 30s (a safety net) with a backend whose
// notifications cover commits of every process (driver.NotifyScope:
// PostgreSQL). SQLite's and rqlite's notifications cover only this
// process's commits, so with them a consumer still polls every 2s at most
// to see other processes' writes.
func WithMaxPoll(d time.Duration) Option {
	return func(s *Stream) {
		if d > 0 {
			s.poll = d
		}
	}
}

// WithLogger sets the logger of continuous consumers (see Consumer.Run for
// what they log). Default slog.Default(); nil keeps the default.
func WithLogger(l *slog.Logger) Option {
	return func(s *Stream) {
		if l != nil {
			s.log = l
		}
	}
}

// New returns a Stream over a backend driver.
func New(d driver.Stream, opts ...Option) (*Stream, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: nil driver", ErrInvalidArgument)
	}
	s := &Stream{d: d, now: time.Now, log: slog.Default(), retryMin: defaultRetryMin, retryMax: defaultRetryMax}
	for _, opt := range opts {
		opt(s)
	}
	if s.poll == 0 {
		s.poll = pollWithoutNotify
		if notifiesOthers(d) {
			s.poll = pollWithNotify
		}
	}
	l, err := kvlock.New(d, kvlock.WithClock(s.now))
	if err != nil {
		return nil, err
	}
	s.locker = l
	return s, nil
}

// notifiesOthers reports whether d signals new entries committed by any
// process: it is a Notifier that declares so (driver.NotifyScope).
func notifiesOthers(d driver.Stream) bool {
	if _, ok := d.(driver.Notifier); !ok {
		return false
	}
	sc, ok := d.(driver.NotifyScope)
	return ok && sc.NotifiesOtherProcesses()
}

// Now returns the stream clock's reading, UTC at microsecond precision.
func (s *Stream) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// storedNow is the clock's reading for a write that stores it (a
// consumer's update time): an error if it is outside the times kv stores
// (kvcore.MinTime to kvcore.MaxTime).
func (s *Stream) storedNow() (time.Time, error) {
	now := s.Now()
	return now, kvcore.ValidateTime("the stream's clock reading", now)
}

// MaxLimit is the largest batch a single read returns.
const MaxLimit = 10000

func query(after int64, limit int, filters []Filter) (driver.Query, error) {
	if limit < 0 || limit > MaxLimit {
		return driver.Query{}, fmt.Errorf("%w: limit %d: want 1 to %d (0: %d)", ErrInvalidArgument, limit, MaxLimit, MaxLimit)
	}
	if limit == 0 {
		limit = MaxLimit
	}
	q := driver.Query{After: after, Limit: limit}
	for _, f := range filters {
		if f != nil {
			f(&q)
		}
	}
	if q.Type != "" {
		if err := kvcore.ValidateName("type", q.Type); err != nil {
			return q, err
		}
	}
	return q, nil
}

// Read returns up to limit entries with seq >= from, in seq order (limit 1
// to MaxLimit; 0: MaxLimit). from 0 means the start of the stream, wherever trimming
// left it; a from > 0 that was trimmed away is a *TrimmedError.
func (s *Stream) Read(ctx context.Context, from int64, limit int, filters ...Filter) ([]Record, error) {
	if from < 0 {
		return nil, fmt.Errorf("%w: seq %d is negative", ErrInvalidArgument, from)
	}
	after := from - 1
	if from == 0 {
		after = 0
	}
	q, err := query(after, limit, filters)
	if err != nil {
		return nil, err
	}
	p, err := s.read(ctx, q, from > 0)
	return p.recs, err
}

// page is one read of the stream: the records it returned and how far it
// looked.
type page struct {
	recs []Record
	// through is the highest seq the read covered: every entry after the
	// read's start, up to through, that passes its filters is in recs.
	// Entries the filters left out are covered too, so a consumer may move
	// its position to through once it has handled recs.
	through int64
}

// read runs q; strict makes reading below the trim watermark an error,
// otherwise the read starts where the stream does.
func (s *Stream) read(ctx context.Context, q driver.Query, strict bool) (page, error) {
	entries, trimmed, last, err := s.d.Read(ctx, q)
	if err != nil {
		return page{}, fmt.Errorf("kv stream read: %w", err)
	}
	if q.After < trimmed {
		if strict {
			return page{}, &TrimmedError{From: q.After + 1, Start: trimmed + 1}
		}
		q.After = trimmed
		if entries, _, last, err = s.d.Read(ctx, q); err != nil {
			return page{}, fmt.Errorf("kv stream read: %w", err)
		}
	}
	p := page{recs: make([]Record, len(entries)), through: max(q.After, last)}
	for i, e := range entries {
		p.recs[i] = recordFrom(e)
	}
	if len(entries) >= q.Limit {
		// A full page: the read may have stopped before the end.
		p.through = entries[len(entries)-1].Seq
	}
	return p, nil
}

// Seq returns the highest sequence number a reader can see (0 if none).
func (s *Stream) Seq(ctx context.Context) (int64, error) {
	_, last, err := s.d.Bounds(ctx)
	if err != nil {
		return 0, fmt.Errorf("kv stream seq: %w", err)
	}
	return last, nil
}

// Bounds returns the first seq the stream can still return and the last.
func (s *Stream) Bounds(ctx context.Context) (first, last int64, err error) {
	trimmed, last, err := s.d.Bounds(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("kv stream bounds: %w", err)
	}
	return trimmed + 1, last, nil
}

// Trim removes entries with seq <= upTo, but none that a consumer has not
// committed yet. It returns the seq up to which the stream is now trimmed.
func (s *Stream) Trim(ctx context.Context, upTo int64) (int64, error) {
	return s.trim(ctx, upTo, true)
}

// ForceTrim removes entries with seq <= upTo even if consumers have not
// read them; those consumers will get ErrTrimmed.
func (s *Stream) ForceTrim(ctx context.Context, upTo int64) (int64, error) {
	return s.trim(ctx, upTo, false)
}

func (s *Stream) trim(ctx context.Context, upTo int64, keep bool) (int64, error) {
	if upTo < 0 {
		return 0, fmt.Errorf("%w: seq %d is negative", ErrInvalidArgument, upTo)
	}
	n, err := s.d.Trim(ctx, upTo, keep)
	if err != nil {
		return 0, fmt.Errorf("kv stream trim: %w", err)
	}
	return n, nil
}

// Locker returns the lease manager that fences the stream's consumers.
func (s *Stream) Locker() *kvlock.Locker { return s.locker }
