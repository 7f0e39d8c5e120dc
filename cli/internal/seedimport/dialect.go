package seedimport

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"
)

// querier runs the read-only queries of one backend.
type querier interface {
	// query runs q with args and calls fn with each row's values: text as
	// string (or []byte), integers as some integer or float64, times as
	// time.Time or RFC 3339 text, NULL as nil.
	query(ctx context.Context, q string, args []any, fn func(row []any) error) error
	// text is a text parameter as the backend must be sent it.
	text(s string) any
	// payload is a task payload as a-h/kv's driver for this backend
	// stored it.
	payload(v any) ([]byte, error)
	close() error
}

// dialectSQL are the queries of a Source in one SQL dialect. The paged
// queries (records, tasks) take the key to start from twice, 1 for the
// first page (which includes that key, "") or 0, and the page size; their
// last column is the storage class of the key (see textKey).
type dialectSQL struct {
	tables, records, tasks, locks, streamInfo, unread, unreadOfType string
}

// taskColumns are a-h/kv's task columns, in taskOf's order.
const taskColumns = "id, name, payload, status, created, scheduled_for, started_at, completed_at, last_error, " +
	"retry_count, max_retries, timeout_seconds, locked_by, locked_at, lock_expires_at"

// sqliteSQL are the queries in SQLite's dialect (SQLite and rqlite), with
// text parameters written as t. Keys and ids compare byte-wise (SQLite's
// BINARY collation), values come out of JSONB as JSON text.
func sqliteSQL(t string) dialectSQL {
	return dialectSQL{
		tables: "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('kv', 'stream', 'locks', 'tasks')",
		records: "SELECT key, version, json(value), type, created, typeof(key) FROM kv WHERE key >= " + t +
			" AND (key > " + t + " OR ? = 1) ORDER BY key LIMIT ?",
		tasks: "SELECT " + taskColumns + ", typeof(id) FROM tasks WHERE id >= " + t +
			" AND (id > " + t + " OR ? = 1) ORDER BY id LIMIT ?",
		locks:        "SELECT name, locked_by, locked_at, expires_at FROM locks ORDER BY name",
		streamInfo:   "SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0), COUNT(*) FROM stream",
		unread:       "SELECT COUNT(*) FROM stream WHERE seq >= ?",
		unreadOfType: "SELECT COUNT(*) FROM stream WHERE seq >= ? AND type = " + t,
	}
}

// postgresSQL are the queries in PostgreSQL's dialect: values come out of
// jsonb as text, times as timestamptz, and a lock's expiry is lock_until.
var postgresSQL = dialectSQL{
	tables: "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() " +
		"AND table_name IN ('kv', 'stream', 'locks', 'tasks')",
	records: "SELECT key, version, value::text, type, created, 'text' FROM kv WHERE key >= $1 AND (key > $2 OR $3 = 1) " +
		"ORDER BY key LIMIT $4",
	tasks:        "SELECT " + taskColumns + ", 'text' FROM tasks WHERE id >= $1 AND (id > $2 OR $3 = 1) ORDER BY id LIMIT $4",
	locks:        "SELECT name, locked_by, locked_at, lock_until FROM locks ORDER BY name",
	streamInfo:   "SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0), COUNT(*) FROM stream",
	unread:       "SELECT COUNT(*) FROM stream WHERE seq >= $1",
	unreadOfType: "SELECT COUNT(*) FROM stream WHERE seq >= $1 AND type = $2",
}

// asString reads a text value.
func asString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case nil:
		return "", fmt.Errorf("NULL where text was expected")
	}
	return "", fmt.Errorf("%T where text was expected", v)
}

// asOptString reads a text value that may be NULL ("").
func asOptString(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	return asString(v)
}

// asInt reads an integer value.
func asInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, fmt.Errorf("%v is not a whole number", x)
		}
		return int64(x), nil
	case string:
		return strconv.ParseInt(x, 10, 64)
	case nil:
		return 0, fmt.Errorf("NULL where a number was expected")
	}
	return 0, fmt.Errorf("%T where a number was expected", v)
}

// asTime reads a time: a timestamptz, or RFC 3339 text as a-h/kv wrote it
// on SQLite and rqlite (in the writer's time zone). It returns it in UTC.
func asTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", x)
		}
		return t.UTC(), nil
	case []byte:
		return asTime(string(x))
	case nil:
		return time.Time{}, fmt.Errorf("NULL where a time was expected")
	}
	return time.Time{}, fmt.Errorf("%T where a time was expected", v)
}

// asOptTime reads a time that may be NULL (or empty text): nil then.
func asOptTime(v any) (*time.Time, error) {
	if v == nil || v == "" {
		return nil, nil
	}
	t, err := asTime(v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// textKey checks the storage class of a key or id, the last column of the
// paged queries: rqlite stores a text parameter of the form x'...' as a
// BLOB of the bytes it spells, so a-h/kv's rqlite driver stored such a key
// as a BLOB, whose text cannot be told (rqlite returns it in base64). It is
// refused rather than guessed, and a BLOB key also ends the paging, which
// only text keys can resume.
func textKey(class any, key string) error {
	if c, _ := asString(class); c != "text" {
		return fmt.Errorf("%q is stored as %v, not text: rqlite stores a text of the form x'...' as a BLOB, whose text is lost", key, class)
	}
	return nil
}
