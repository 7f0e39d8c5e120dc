// Package seedimport reads a database written by github.com/a-h/kv (the
// project kv descends from) on SQLite, PostgreSQL or rqlite: its records,
// consumer positions, stream, locks and tasks, for kv import a-h/kv.
//
// The a-h/kv schema (its migrations 1 to 4) has the tables kv (key, version,
// value, type, created), stream (seq, action, key, version, value, type,
// created), locks (name, locked_by, locked_at and expires_at, or lock_until
// on PostgreSQL), tasks (id, name, payload, status, created, scheduled_for,
// started_at, completed_at, last_error, retry_count, max_retries,
// timeout_seconds, locked_by, locked_at, lock_expires_at) and
// migration_version. Values are JSON (JSONB in SQLite's binary form on
// SQLite and rqlite); times are RFC 3339 text on SQLite and rqlite and
// timestamptz on PostgreSQL. A consumer's position is a record of the kv
// table under ConsumerPrefix + its name, holding the next seq it reads.
//
// A Source only reads: SQLite is opened read-only, PostgreSQL in a
// read-only transaction (one snapshot for everything read), rqlite with
// queries only. Each dialect is a querier and its SQL; what a row means is
// decided once, here, for all three.
package seedimport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ConsumerPrefix starts the key of every a-h/kv consumer position record.
const ConsumerPrefix = "github.com/a-h/kv/stream/"

// Types lists the backends a Source reads.
var Types = []string{"sqlite", "postgres", "rqlite"}

// Errors; test for them with errors.Is.
var (
	// ErrNotSeed: the database does not hold a-h/kv's tables.
	ErrNotSeed = errors.New("not a database of github.com/a-h/kv")
	// ErrBadRow: a row that cannot be read as a-h/kv wrote it.
	ErrBadRow = errors.New("unreadable a-h/kv row")
)

// Record is a row of the kv table.
type Record struct {
	Key     string
	Version int64
	Value   json.RawMessage // the JSON document, as text
	Type    string
	Created time.Time
}

// Consumer is a consumer position record.
type Consumer struct {
	Name    string // its key without ConsumerPrefix
	OfType  string // the record type it read ("all" or "": every type)
	Next    int64  // the first seq it had not handled: it read seq >= Next
	Updated string // as a-h/kv stored it (RFC 3339 text), for reports
}

// Lock is a row of the locks table.
type Lock struct {
	Name, LockedBy    string
	LockedAt, Expires time.Time
}

// Task is a row of the tasks table.
type Task struct {
	ID, Name     string
	Payload      []byte // as a-h/kv's task held it
	Status       string
	Created      time.Time
	ScheduledFor time.Time
	StartedAt    *time.Time
	CompletedAt  *time.Time
	LastError    string
	RetryCount   int
	MaxRetries   int
	Timeout      int // seconds
	LockedBy     string
	LockedAt     *time.Time
	LockExpires  *time.Time
}

// StreamInfo describes the stream table.
type StreamInfo struct {
	First, Last, Entries int64 // 0, 0, 0 if empty
}

// Source is an open a-h/kv database.
type Source struct {
	q     querier
	sql   dialectSQL
	tasks bool // the tasks table exists (a-h/kv's migration 4)
}

// pageSize is how many rows one query of Records or Tasks reads.
const pageSize = 500

// Open opens the a-h/kv database of type typ (one of Types) at conn,
// read-only, and checks that it holds a-h/kv's tables (kv, stream and
// locks; tasks if it is there): ErrNotSeed if not.
func Open(ctx context.Context, typ, conn string) (*Source, error) {
	var (
		q   querier
		d   dialectSQL
		err error
	)
	switch typ {
	case "sqlite":
		q, err = openSQLite(ctx, conn)
		d = sqliteSQL("?")
	case "postgres":
		q, err = openPostgres(ctx, conn)
		d = postgresSQL
	case "rqlite":
		q, err = openRQLite(ctx, conn)
		d = sqliteSQL("CAST(? AS TEXT)")
	default:
		return nil, fmt.Errorf("unknown type %q: want one of %s", typ, strings.Join(Types, ", "))
	}
	if err != nil {
		return nil, err
	}
	s := &Source{q: q, sql: d}
	tables, err := s.tables(ctx)
	if err != nil {
		q.close()
		return nil, err
	}
	var missing []string
	for _, t := range []string{"kv", "stream", "locks"} {
		if !tables[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		q.close()
		return nil, fmt.Errorf("%w: it has no table %s", ErrNotSeed, strings.Join(missing, ", "))
	}
	s.tasks = tables["tasks"]
	return s, nil
}

// Close closes the database.
func (s *Source) Close() error { return s.q.close() }

// tables returns which of a-h/kv's tables the database holds.
func (s *Source) tables(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.q.query(ctx, s.sql.tables, nil, func(row []any) error {
		name, err := asString(row[0])
		out[name] = true
		return err
	})
	return out, err
}

// Detect reports whether the database of type typ at conn holds a-h/kv's
// tables, without changing it.
func Detect(ctx context.Context, typ, conn string) (bool, error) {
	s, err := Open(ctx, typ, conn)
	if errors.Is(err, ErrNotSeed) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, s.Close()
}

// HasTasks reports whether the database has a-h/kv's tasks table.
func (s *Source) HasTasks() bool { return s.tasks }

// Records calls fn with every row of the kv table in key order, the
// consumer position records (keys that start with ConsumerPrefix)
// included: see ConsumerOf. It stops at fn's first error.
func (s *Source) Records(ctx context.Context, fn func(Record) error) error {
	return s.pages(ctx, s.sql.records, func(row []any) (string, error) {
		r, err := recordOf(row)
		if err != nil {
			return "", err
		}
		return r.Key, fn(r)
	})
}

// Tasks calls fn with every row of the tasks table in id order (none if
// there is no tasks table). It stops at fn's first error.
func (s *Source) Tasks(ctx context.Context, fn func(Task) error) error {
	if !s.tasks {
		return nil
	}
	return s.pages(ctx, s.sql.tasks, func(row []any) (string, error) {
		t, err := s.taskOf(row)
		if err != nil {
			return "", err
		}
		return t.ID, fn(t)
	})
}

// pages runs the paged query q (see dialectSQL) until a page comes back
// short, handing each row to fn, which returns the row's key.
func (s *Source) pages(ctx context.Context, q string, fn func(row []any) (string, error)) error {
	after, first := "", 1
	for {
		n := 0
		err := s.q.query(ctx, q, []any{s.q.text(after), s.q.text(after), first, pageSize}, func(row []any) error {
			key, err := fn(row)
			after, first = key, 0
			n++
			return err
		})
		if err != nil || n < pageSize {
			return err
		}
	}
}

// Locks returns every row of the locks table, by name.
func (s *Source) Locks(ctx context.Context) ([]Lock, error) {
	var out []Lock
	err := s.q.query(ctx, s.sql.locks, nil, func(row []any) error {
		var l Lock
		var err error
		if l.Name, err = asString(row[0]); err != nil {
			return badRow("locks", "name", err)
		}
		if l.LockedBy, err = asString(row[1]); err != nil {
			return badRow("locks", "locked_by of "+l.Name, err)
		}
		if l.LockedAt, err = asTime(row[2]); err != nil {
			return badRow("locks", "locked_at of "+l.Name, err)
		}
		if l.Expires, err = asTime(row[3]); err != nil {
			return badRow("locks", "expiry of "+l.Name, err)
		}
		out = append(out, l)
		return nil
	})
	return out, err
}

// Stream describes the stream table.
func (s *Source) Stream(ctx context.Context) (StreamInfo, error) {
	var st StreamInfo
	err := s.q.query(ctx, s.sql.streamInfo, nil, func(row []any) error {
		var err error
		if st.First, err = asInt(row[0]); err == nil {
			if st.Last, err = asInt(row[1]); err == nil {
				st.Entries, err = asInt(row[2])
			}
		}
		return badRow("stream", "bounds", err)
	})
	return st, err
}

// Unread counts the stream entries c had not read: seq >= c.Next, of its
// type unless it read every type.
func (s *Source) Unread(ctx context.Context, c Consumer) (int64, error) {
	q, args := s.sql.unread, []any{c.Next}
	if c.OfType != "" && c.OfType != "all" {
		q, args = s.sql.unreadOfType, []any{c.Next, s.q.text(c.OfType)}
	}
	var n int64
	err := s.q.query(ctx, q, args, func(row []any) error {
		var err error
		n, err = asInt(row[0])
		return badRow("stream", "count", err)
	})
	return n, err
}

// ConsumerOf reports whether r is a consumer position record (its key
// starts with ConsumerPrefix) and, if so, the position it holds.
func ConsumerOf(r Record) (Consumer, bool, error) {
	name, ok := strings.CutPrefix(r.Key, ConsumerPrefix)
	if !ok {
		return Consumer{}, false, nil
	}
	var v struct {
		OfType      string `json:"ofType"`
		Seq         *int64 `json:"seq"`
		LastUpdated string `json:"lastUpdated"`
	}
	if err := json.Unmarshal(r.Value, &v); err != nil || v.Seq == nil {
		return Consumer{}, true, fmt.Errorf("%w: consumer record %q: want {\"seq\":...}, got %.200s", ErrBadRow, r.Key, r.Value)
	}
	return Consumer{Name: name, OfType: v.OfType, Next: *v.Seq, Updated: v.LastUpdated}, true, nil
}

// recordOf reads a row of the records query: key, version, value (JSON
// text), type, created.
func recordOf(row []any) (Record, error) {
	var r Record
	var err error
	if r.Key, err = asString(row[0]); err == nil {
		err = textKey(row[5], r.Key)
	}
	if err != nil {
		return r, badRow("kv", "key", err)
	}
	what := func(col string) string { return fmt.Sprintf("%s of key %q", col, r.Key) }
	if r.Version, err = asInt(row[1]); err != nil {
		return r, badRow("kv", what("version"), err)
	}
	value, err := asString(row[2])
	if err != nil {
		return r, badRow("kv", what("value"), err)
	}
	r.Value = json.RawMessage(value)
	if r.Type, err = asString(row[3]); err != nil {
		return r, badRow("kv", what("type"), err)
	}
	if r.Created, err = asTime(row[4]); err != nil {
		return r, badRow("kv", what("created"), err)
	}
	return r, nil
}

// taskOf reads a row of the tasks query, in the table's column order.
func (s *Source) taskOf(row []any) (Task, error) {
	var t Task
	var err error
	if t.ID, err = asString(row[0]); err == nil {
		err = textKey(row[15], t.ID)
	}
	if err != nil {
		return t, badRow("tasks", "id", err)
	}
	col := func(name string, err error) error {
		return badRow("tasks", fmt.Sprintf("%s of task %q", name, t.ID), err)
	}
	if t.Name, err = asString(row[1]); err != nil {
		return t, col("name", err)
	}
	if t.Payload, err = s.q.payload(row[2]); err != nil {
		return t, col("payload", err)
	}
	if t.Status, err = asString(row[3]); err != nil {
		return t, col("status", err)
	}
	if t.Created, err = asTime(row[4]); err != nil {
		return t, col("created", err)
	}
	if t.ScheduledFor, err = asTime(row[5]); err != nil {
		return t, col("scheduled_for", err)
	}
	if t.StartedAt, err = asOptTime(row[6]); err != nil {
		return t, col("started_at", err)
	}
	if t.CompletedAt, err = asOptTime(row[7]); err != nil {
		return t, col("completed_at", err)
	}
	if t.LastError, err = asOptString(row[8]); err != nil {
		return t, col("last_error", err)
	}
	ints := []*int{&t.RetryCount, &t.MaxRetries, &t.Timeout}
	for i, name := range []string{"retry_count", "max_retries", "timeout_seconds"} {
		n, err := asInt(row[9+i])
		if err != nil {
			return t, col(name, err)
		}
		*ints[i] = int(n)
	}
	if t.LockedBy, err = asOptString(row[12]); err != nil {
		return t, col("locked_by", err)
	}
	if t.LockedAt, err = asOptTime(row[13]); err != nil {
		return t, col("locked_at", err)
	}
	if t.LockExpires, err = asOptTime(row[14]); err != nil {
		return t, col("lock_expires_at", err)
	}
	return t, nil
}

// badRow wraps err (if not nil) as ErrBadRow naming the table and column.
func badRow(table, what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: table %s: %s: %v", ErrBadRow, table, what, err)
}
