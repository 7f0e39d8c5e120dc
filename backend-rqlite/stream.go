package rqlitekv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rqlite/gorqlite"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

var _ streamdriver.Stream = (*DB)(nil)

// errNoMeta: the stream_meta row is missing, so the schema is not the
// driver's (or not migrated).
var errNoMeta = fmt.Errorf("the stream_meta row is missing: %w", coredriver.ErrNotInitialized)

// The statements of the Stream. Every seq is read back as text, so it is
// exact.
var (
	// sqlBounds reads the watermark and the highest seq (never below the
	// watermark: a stream trimmed empty ends where it was trimmed).
	sqlBounds  = dialect.StreamBounds()
	sqlTrimmed = "SELECT CAST(trimmed AS TEXT) FROM stream_meta WHERE id = 1"
	// sqlTrimDelete removes what the watermark now covers.
	sqlTrimDelete = "DELETE FROM stream WHERE seq <= (SELECT trimmed FROM stream_meta WHERE id = 1)"

	sqlConsumer  = dialect.Consumer()
	sqlConsumers = dialect.Consumers()
	// sqlCreateConsumer starts a new consumer at position, raised to the
	// watermark: a consumer never starts inside the trimmed part.
	sqlCreateConsumer = dialect.CreateConsumer()
	sqlCommit         = dialect.CommitConsumer()
	sqlDeleteConsumer = dialect.DeleteConsumer()
)

// sqlTrim raises the watermark to upTo, capped at the highest seq written
// (so entries not written yet are never covered) and, if keep, at the
// lowest consumer position; it never lowers it.
func sqlTrim(keep bool) string {
	capped := "min(?, coalesce((SELECT max(seq) FROM stream), 0))"
	if keep {
		capped = "min(?, coalesce((SELECT max(seq) FROM stream), 0), coalesce((SELECT min(position) FROM consumers), ?))"
	}
	return "UPDATE stream_meta SET trimmed = max(trimmed, " + capped + ") WHERE id = 1"
}

// Read returns up to q.Limit entries after q.After that match q, in seq
// order, the trim watermark and the highest seq, from ONE statement (so one
// snapshot): the meta row left-joined to the page of entries. The seq is
// gap-free as read: rqlite applies writes one Raft log entry at a time,
// each a whole SQLite transaction, so a seq is assigned (AUTOINCREMENT) and
// committed in log order, and a reader never sees seq N+1 without every
// seq <= N.
func (db *DB) Read(ctx context.Context, q streamdriver.Query) ([]streamdriver.Record, int64, int64, error) {
	if err := db.usable(ctx); err != nil {
		return nil, 0, 0, err
	}
	if q.Limit <= 0 {
		return nil, 0, 0, invalidArg("stream read", "limit %d must be positive", q.Limit)
	}
	query, args := dialect.StreamRead(q)
	stmt := gorqlite.ParameterizedStatement{Query: query, Arguments: args}
	qr, err := db.queryOne(ctx, "stream read", stmt)
	if err != nil {
		return nil, 0, 0, err
	}
	// Every row carries the watermark and the last seq. A page without
	// entries is one row, the meta row alone (no seq): read as an entry
	// with seq 0, which no real entry has (AUTOINCREMENT starts at 1), and
	// dropped.
	var trimmed, last int64
	out, err := scanRows("stream read", qr, 10, func(row []any) (streamdriver.Record, error) {
		var err error
		if trimmed, err = intCol(row, 0); err != nil {
			return streamdriver.Record{}, fmt.Errorf("watermark: %w", err)
		}
		if last, err = intCol(row, 1); err != nil {
			return streamdriver.Record{}, fmt.Errorf("last seq: %w", err)
		}
		if row[2] == nil {
			return streamdriver.Record{}, nil
		}
		return scanEntry(row[2:])
	})
	switch {
	case err != nil:
		return nil, 0, 0, err
	case len(out) == 0:
		return nil, 0, 0, fmt.Errorf("rqlitekv: stream read: %w", errNoMeta)
	case out[0].Seq == 0:
		out = out[:0]
	}
	return out, trimmed, last, nil
}

// scanEntry reads seq, namespace, key, action, version, type, value, ts.
func scanEntry(row []any) (streamdriver.Record, error) {
	var r streamdriver.Record
	var err error
	if r.Seq, err = intCol(row, 0); err != nil {
		return r, fmt.Errorf("seq: %w", err)
	}
	var ok bool
	if r.Namespace, ok = row[1].(string); !ok {
		return r, fmt.Errorf("seq %d: namespace: unexpected %T", r.Seq, row[1])
	}
	if r.Key, ok = row[2].(string); !ok {
		return r, fmt.Errorf("seq %d: key: unexpected %T", r.Seq, row[2])
	}
	if r.Action, ok = row[3].(string); !ok {
		return r, fmt.Errorf("seq %d: action: unexpected %T", r.Seq, row[3])
	}
	if r.Version, err = intCol(row, 4); err != nil {
		return r, fmt.Errorf("seq %d: version: %w", r.Seq, err)
	}
	if r.Type, ok = row[5].(string); !ok && row[5] != nil {
		return r, fmt.Errorf("seq %d: type: unexpected %T", r.Seq, row[5])
	}
	if row[6] != nil {
		v, ok := row[6].(string)
		if !ok {
			return r, fmt.Errorf("seq %d: value: unexpected %T", r.Seq, row[6])
		}
		r.Value = []byte(v)
	}
	ts, err := intCol(row, 7)
	if err != nil {
		return r, fmt.Errorf("seq %d: time: %w", r.Seq, err)
	}
	r.Time = time.UnixMicro(ts).UTC()
	return r, nil
}

// Bounds returns the trim watermark and the highest seq (at least the
// watermark), from one statement.
func (db *DB) Bounds(ctx context.Context) (int64, int64, error) {
	if err := db.usable(ctx); err != nil {
		return 0, 0, err
	}
	qr, err := db.queryOne(ctx, "stream bounds", gorqlite.ParameterizedStatement{Query: sqlBounds})
	if err != nil {
		return 0, 0, err
	}
	b, ok, err := scanOne("stream bounds", qr, 2, func(row []any) (b [2]int64, err error) {
		if b[0], err = intCol(row, 0); err != nil {
			return b, fmt.Errorf("watermark: %w", err)
		}
		if b[1], err = intCol(row, 1); err != nil {
			return b, fmt.Errorf("last seq: %w", err)
		}
		return b, nil
	})
	if err == nil && !ok {
		err = fmt.Errorf("rqlitekv: stream bounds: %w", errNoMeta)
	}
	return b[0], b[1], err
}

// Trim raises the watermark to upTo (capped as sqlTrim says), deletes the
// entries it covers and returns it: one request, one transaction.
func (db *DB) Trim(ctx context.Context, upTo int64, keepConsumers bool) (int64, error) {
	if err := db.usable(ctx); err != nil {
		return 0, err
	}
	if upTo < 0 {
		return 0, invalidArg("stream trim", "seq %d is negative", upTo)
	}
	var q batch
	if keepConsumers {
		q.add(roleOther, -1, sqlTrim(true), upTo, upTo)
	} else {
		q.add(roleOther, -1, sqlTrim(false), upTo)
	}
	q.add(roleOther, -1, sqlTrimDelete)
	q.add(roleOther, -1, sqlTrimmed)
	res, err := db.send(ctx, "stream trim", &q)
	if err != nil {
		return 0, err
	}
	if w := res[0].Write; w == nil || w.RowsAffected != 1 {
		return 0, fmt.Errorf("rqlitekv: stream trim: %w", errNoMeta)
	}
	n, ok, err := scanOne("stream trim", res[2].Query, 1, firstInt)
	if err == nil && !ok {
		err = fmt.Errorf("rqlitekv: stream trim: %w", errNoMeta)
	}
	return n, err
}

// Consumer returns a consumer's state and whether it exists.
func (db *DB) Consumer(ctx context.Context, name string) (streamdriver.Consumer, bool, error) {
	if err := db.usable(ctx); err != nil {
		return streamdriver.Consumer{}, false, err
	}
	qr, err := db.queryOne(ctx, "consumer", gorqlite.ParameterizedStatement{Query: sqlConsumer, Arguments: []any{txt(name)}})
	if err != nil {
		return streamdriver.Consumer{}, false, err
	}
	return scanOne("consumer", qr, 3, scanConsumer)
}

// scanConsumer reads a row of sqlConsumer (3 columns).
func scanConsumer(row []any) (streamdriver.Consumer, error) {
	var c streamdriver.Consumer
	var ok bool
	if c.Name, ok = row[0].(string); !ok {
		return c, fmt.Errorf("consumer name: unexpected %T", row[0])
	}
	var err error
	if c.Position, err = intCol(row, 1); err != nil {
		return c, fmt.Errorf("consumer %q: position: %w", c.Name, err)
	}
	u, err := intCol(row, 2)
	if err != nil {
		return c, fmt.Errorf("consumer %q: updated: %w", c.Name, err)
	}
	c.Updated = time.UnixMicro(u).UTC()
	return c, nil
}

// Consumers returns every consumer, ordered by name (byte order).
func (db *DB) Consumers(ctx context.Context) ([]streamdriver.Consumer, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	qr, err := db.queryOne(ctx, "consumers", gorqlite.ParameterizedStatement{Query: sqlConsumers})
	if err != nil {
		return nil, err
	}
	return scanRows("consumers", qr, 3, scanConsumer)
}

// CreateConsumer creates name at position (raised to the trim watermark,
// as every backend does) if it does not exist, and returns the stored
// consumer either way: one request, the insert then the read.
func (db *DB) CreateConsumer(ctx context.Context, name string, position int64, now time.Time) (streamdriver.Consumer, error) {
	if err := db.usable(ctx); err != nil {
		return streamdriver.Consumer{}, err
	}
	var q batch
	q.add(roleOther, -1, sqlCreateConsumer, txt(name), position, now.UnixMicro())
	q.add(roleOther, -1, sqlConsumer, txt(name))
	res, err := db.send(ctx, "create consumer", &q)
	if err != nil {
		return streamdriver.Consumer{}, err
	}
	c, ok, err := scanOne("create consumer", res[1].Query, 3, scanConsumer)
	if err != nil {
		return streamdriver.Consumer{}, err
	}
	if !ok {
		return streamdriver.Consumer{}, errors.New("rqlitekv: create consumer: no row after the insert")
	}
	return c, nil
}

// Commit sets an existing consumer's position. With a fence, the lease
// check is the first statement of the same request (through the guard
// table): a stale holder gets ErrFenced and changes nothing.
func (db *DB) Commit(ctx context.Context, name string, position int64, fence *coredriver.Fence, now time.Time) error {
	if err := db.usable(ctx); err != nil {
		return err
	}
	n := now.UnixMicro()
	var q batch
	if fence != nil {
		q.add(roleFence, -1, sqlFence, txt(fence.Name), fence.Token, n)
	}
	q.add(roleRows, -1, sqlCommit, position, n, txt(name))
	res, err := db.send(ctx, "commit consumer", &q)
	if err != nil {
		return err
	}
	if w := res[len(res)-1].Write; w == nil || w.RowsAffected == 0 {
		return fmt.Errorf("rqlitekv: commit consumer %q: %w", name, streamdriver.ErrNoConsumer)
	}
	return nil
}

// DeleteConsumer deletes a consumer and reports whether it existed.
func (db *DB) DeleteConsumer(ctx context.Context, name string) (bool, error) {
	if err := db.usable(ctx); err != nil {
		return false, err
	}
	var q batch
	q.add(roleRows, -1, sqlDeleteConsumer, txt(name))
	res, err := db.send(ctx, "delete consumer", &q)
	if err != nil {
		return false, err
	}
	return res[0].Write != nil && res[0].Write.RowsAffected > 0, nil
}
