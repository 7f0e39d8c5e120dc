// Package seedtest makes databases as github.com/a-h/kv made them, for the
// tests of kv import a-h/kv: the schema of its migrations 1 to 4 (written
// here from reading them: the same tables, columns, types, defaults and
// stream triggers) on SQLite, PostgreSQL or rqlite, and a sample of data
// in it written the way a-h/kv's drivers wrote it.
package seedtest

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rqlite/gorqlite"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// sqliteSchema is a-h/kv's schema on SQLite and rqlite. A change to the kv
// table appends to stream by trigger, except for consumer positions.
var sqliteSchema = []string{
	`CREATE TABLE IF NOT EXISTS migration_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')))`,
	`INSERT INTO migration_version (version, applied_at) SELECT 1, datetime('now') WHERE NOT EXISTS (SELECT 1 FROM migration_version)`,
	`CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, version INTEGER NOT NULL, value JSONB NOT NULL, type TEXT NOT NULL, created TEXT NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS stream (seq INTEGER PRIMARY KEY AUTOINCREMENT,
		action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
		key TEXT NOT NULL, version INTEGER NOT NULL, value JSONB NOT NULL, type TEXT NOT NULL, created TEXT NOT NULL)`,
	`CREATE TRIGGER IF NOT EXISTS kv_stream_insert AFTER INSERT ON kv WHEN new.key NOT LIKE 'github.com/a-h/kv/stream/%'
	BEGIN INSERT INTO stream (action, key, version, value, type, created) VALUES ('create', new.key, new.version, new.value, new.type, new.created); END`,
	`CREATE TRIGGER IF NOT EXISTS kv_stream_update AFTER UPDATE ON kv WHEN new.key NOT LIKE 'github.com/a-h/kv/stream/%'
	BEGIN INSERT INTO stream (action, key, version, value, type, created) VALUES ('update', new.key, new.version, new.value, new.type, new.created); END`,
	`CREATE TRIGGER IF NOT EXISTS kv_stream_delete AFTER DELETE ON kv WHEN old.key NOT LIKE 'github.com/a-h/kv/stream/%'
	BEGIN INSERT INTO stream (action, key, version, value, type, created) VALUES ('delete', old.key, old.version, old.value, old.type, old.created); END`,
	`CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, locked_by TEXT NOT NULL, locked_at TEXT NOT NULL, expires_at TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS idx_kv_type_key ON kv (type, key)`,
	`CREATE INDEX IF NOT EXISTS idx_stream_type_seq ON stream (type, seq)`,
	`CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, name TEXT NOT NULL, payload TEXT NOT NULL,
		status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
		created TEXT NOT NULL, scheduled_for TEXT NOT NULL, started_at TEXT, completed_at TEXT,
		last_error TEXT NOT NULL DEFAULT '', retry_count INTEGER NOT NULL DEFAULT 0, max_retries INTEGER NOT NULL DEFAULT 3,
		timeout_seconds INTEGER NOT NULL DEFAULT 300, locked_by TEXT NOT NULL DEFAULT '', locked_at TEXT, lock_expires_at TEXT)`,
	`CREATE INDEX IF NOT EXISTS idx_tasks_status_scheduled ON tasks (status, scheduled_for)`,
	`CREATE INDEX IF NOT EXISTS idx_tasks_name_created ON tasks (name, created)`,
	`CREATE INDEX IF NOT EXISTS idx_tasks_locked ON tasks (locked_by, lock_expires_at)`,
	`CREATE INDEX IF NOT EXISTS idx_tasks_pending_collection ON tasks (status, scheduled_for, name, lock_expires_at)`,
}

// postgresSchema is a-h/kv's schema on PostgreSQL: jsonb values,
// timestamptz times, a bigserial stream fed by plpgsql triggers, and
// lock_until for a lock's expiry.
var postgresSchema = []string{
	`CREATE TABLE IF NOT EXISTS migration_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
	`INSERT INTO migration_version (version, applied_at) SELECT 1, now() WHERE NOT EXISTS (SELECT 1 FROM migration_version)`,
	`CREATE TABLE IF NOT EXISTS kv (key text PRIMARY KEY, version integer NOT NULL, value jsonb NOT NULL, type text NOT NULL, created timestamptz NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS stream (seq bigserial PRIMARY KEY,
		action text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
		key text NOT NULL, version integer NOT NULL, value jsonb NOT NULL, type text NOT NULL, created timestamptz NOT NULL)`,
	`CREATE OR REPLACE FUNCTION kv_stream_insert_fn() RETURNS trigger AS $$ BEGIN
		INSERT INTO stream (action, key, version, value, type, created) VALUES ('create', new.key, new.version, new.value, new.type, new.created);
		RETURN new; END; $$ LANGUAGE plpgsql`,
	`CREATE OR REPLACE FUNCTION kv_stream_update_fn() RETURNS trigger AS $$ BEGIN
		INSERT INTO stream (action, key, version, value, type, created) VALUES ('update', new.key, new.version, new.value, new.type, new.created);
		RETURN new; END; $$ LANGUAGE plpgsql`,
	`CREATE OR REPLACE FUNCTION kv_stream_delete_fn() RETURNS trigger AS $$ BEGIN
		INSERT INTO stream (action, key, version, value, type, created) VALUES ('delete', old.key, old.version, old.value, old.type, old.created);
		RETURN old; END; $$ LANGUAGE plpgsql`,
	`CREATE OR REPLACE TRIGGER kv_stream_insert AFTER INSERT ON kv FOR EACH ROW
		WHEN (new.key NOT LIKE 'github.com/a-h/kv/stream/%') EXECUTE FUNCTION kv_stream_insert_fn()`,
	`CREATE OR REPLACE TRIGGER kv_stream_update AFTER UPDATE ON kv FOR EACH ROW
		WHEN (new.key NOT LIKE 'github.com/a-h/kv/stream/%') EXECUTE FUNCTION kv_stream_update_fn()`,
	`CREATE OR REPLACE TRIGGER kv_stream_delete AFTER DELETE ON kv FOR EACH ROW
		WHEN (old.key NOT LIKE 'github.com/a-h/kv/stream/%') EXECUTE FUNCTION kv_stream_delete_fn()`,
	`CREATE TABLE IF NOT EXISTS locks (name text PRIMARY KEY, locked_by text NOT NULL, locked_at timestamptz NOT NULL, lock_until timestamptz NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS idx_kv_type_key ON kv (type, key)`,
	`CREATE INDEX IF NOT EXISTS idx_stream_type_seq ON stream (type, seq)`,
	`CREATE TABLE IF NOT EXISTS tasks (id text PRIMARY KEY, name text NOT NULL, payload text NOT NULL,
		status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
		created timestamptz NOT NULL, scheduled_for timestamptz NOT NULL, started_at timestamptz, completed_at timestamptz,
		last_error text NOT NULL DEFAULT '', retry_count integer NOT NULL DEFAULT 0, max_retries integer NOT NULL DEFAULT 3,
		timeout_seconds integer NOT NULL DEFAULT 300, locked_by text NOT NULL DEFAULT '', locked_at timestamptz, lock_expires_at timestamptz)`,
	`CREATE INDEX IF NOT EXISTS idx_tasks_status_scheduled ON tasks (status, scheduled_for)`,
	`CREATE INDEX IF NOT EXISTS idx_tasks_name_created ON tasks (name, created)`,
	`CREATE INDEX IF NOT EXISTS idx_tasks_locked ON tasks (locked_by, lock_expires_at)`,
	`CREATE INDEX IF NOT EXISTS idx_tasks_pending_collection ON tasks (status, scheduled_for, name, lock_expires_at)`,
}

// Stmt is one statement and its arguments, in the database's placeholder
// style ("?" on SQLite and rqlite, "$1" on PostgreSQL).
type Stmt struct {
	SQL  string
	Args []any
}

// Exec runs stmts in order on the database of type typ at conn (with
// SQLite, a file that is created if needed).
func Exec(ctx context.Context, typ, conn string, stmts ...Stmt) error {
	switch typ {
	case "sqlite":
		db, err := sql.Open("sqlite", conn)
		if err != nil {
			return err
		}
		defer db.Close()
		for _, s := range stmts {
			if _, err := db.ExecContext(ctx, s.SQL, s.Args...); err != nil {
				return fmt.Errorf("%s: %w", s.SQL, err)
			}
		}
	case "postgres":
		c, err := pgx.Connect(ctx, conn)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		for _, s := range stmts {
			if _, err := c.Exec(ctx, s.SQL, s.Args...); err != nil {
				return fmt.Errorf("%s: %w", s.SQL, err)
			}
		}
	case "rqlite":
		c, err := gorqlite.Open(conn)
		if err != nil {
			return err
		}
		defer c.Close()
		for _, s := range stmts {
			if _, err := c.WriteOneParameterizedContext(ctx, gorqlite.ParameterizedStatement{Query: s.SQL, Arguments: s.Args}); err != nil {
				return fmt.Errorf("%s: %w", s.SQL, err)
			}
		}
	default:
		return fmt.Errorf("unknown type %q", typ)
	}
	return nil
}

// CreateSchema creates a-h/kv's schema in the database of type typ at conn.
func CreateSchema(ctx context.Context, typ, conn string) error {
	ddl := sqliteSchema
	if typ == "postgres" {
		ddl = postgresSchema
	}
	var stmts []Stmt
	for _, s := range ddl {
		stmts = append(stmts, Stmt{SQL: s})
	}
	return Exec(ctx, typ, conn, stmts...)
}

// Writer writes rows into an a-h/kv database as its drivers did: on
// SQLite and rqlite values through jsonb() and times as RFC 3339 text in
// the writer's time zone; task payloads as a BLOB (SQLite), base64 text
// (rqlite, whose client sent []byte as JSON) or text (PostgreSQL).
type Writer struct {
	Type, Conn string
	stmts      []Stmt
}

// arg returns the placeholder of argument n (from 1) and the statement's
// time and value expressions.
func (w *Writer) ph(n int) string {
	if w.Type == "postgres" {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// jsonArg is a JSON value's placeholder n as the dialect stores JSON.
func (w *Writer) jsonArg(n int) string {
	if w.Type == "postgres" {
		return w.ph(n) + "::jsonb"
	}
	return "jsonb(" + w.ph(n) + ")"
}

// timeArg is t as the dialect stores it (nil for a nil *time.Time).
func (w *Writer) timeArg(t *time.Time) any {
	switch {
	case t == nil:
		return nil
	case w.Type == "postgres":
		return *t
	}
	return t.Format(time.RFC3339Nano)
}

// Put inserts key at version 1, or updates it to the next version, as
// a-h/kv's Put with version -1 did (the created time stays the first).
func (w *Writer) Put(key, value, typ string, created time.Time) {
	w.stmts = append(w.stmts, Stmt{
		SQL: "INSERT INTO kv (key, version, value, type, created) VALUES (" + w.ph(1) + ", 1, " + w.jsonArg(2) + ", " + w.ph(3) + ", " + w.ph(4) + ") " +
			"ON CONFLICT (key) DO UPDATE SET version = kv.version + 1, value = excluded.value, type = excluded.type",
		Args: []any{key, value, typ, w.timeArg(&created)},
	})
}

// Delete deletes key.
func (w *Writer) Delete(key string) {
	w.stmts = append(w.stmts, Stmt{SQL: "DELETE FROM kv WHERE key = " + w.ph(1), Args: []any{key}})
}

// Consumer writes a consumer position record as a-h/kv's stream consumer
// committed it: the next seq to read.
func (w *Writer) Consumer(name, ofType string, next int64, at time.Time) {
	v, _ := json.Marshal(map[string]any{"name": name, "ofType": ofType, "seq": next, "lastUpdated": at.UTC().Format(time.RFC3339)})
	w.Put("github.com/a-h/kv/stream/"+name, string(v), "StreamConsumerStatus", at)
}

// Lock writes a lock.
func (w *Writer) Lock(name, by string, at, until time.Time) {
	col := "expires_at"
	if w.Type == "postgres" {
		col = "lock_until"
	}
	w.stmts = append(w.stmts, Stmt{
		SQL:  "INSERT INTO locks (name, locked_by, locked_at, " + col + ") VALUES (" + w.ph(1) + ", " + w.ph(2) + ", " + w.ph(3) + ", " + w.ph(4) + ")",
		Args: []any{name, by, w.timeArg(&at), w.timeArg(&until)},
	})
}

// Task is a row of the tasks table.
type Task struct {
	ID, Name, Status, LastError, LockedBy   string
	Payload                                 []byte
	Created, ScheduledFor                   time.Time
	StartedAt, CompletedAt, LockedAt, Until *time.Time
	RetryCount, MaxRetries, Timeout         int
}

// Task writes a task.
func (w *Writer) Task(t Task) {
	var payload any = t.Payload
	switch w.Type {
	case "rqlite":
		payload = base64.StdEncoding.EncodeToString(t.Payload)
	case "postgres":
		payload = string(t.Payload)
	}
	var ph []string
	for i := 1; i <= 15; i++ {
		ph = append(ph, w.ph(i))
	}
	w.stmts = append(w.stmts, Stmt{
		SQL: "INSERT INTO tasks (id, name, payload, status, created, scheduled_for, started_at, completed_at, last_error, " +
			"retry_count, max_retries, timeout_seconds, locked_by, locked_at, lock_expires_at) VALUES (" + join(ph) + ")",
		Args: []any{t.ID, t.Name, payload, t.Status, w.timeArg(&t.Created), w.timeArg(&t.ScheduledFor), w.timeArg(t.StartedAt),
			w.timeArg(t.CompletedAt), t.LastError, t.RetryCount, t.MaxRetries, t.Timeout, t.LockedBy, w.timeArg(t.LockedAt), w.timeArg(t.Until)},
	})
}

// Raw adds a statement of the caller's.
func (w *Writer) Raw(s Stmt) { w.stmts = append(w.stmts, s) }

// Flush runs the statements written so far, in order.
func (w *Writer) Flush(ctx context.Context) error {
	stmts := w.stmts
	w.stmts = nil
	return Exec(ctx, w.Type, w.Conn, stmts...)
}

func join(ph []string) string {
	s := ph[0]
	for _, p := range ph[1:] {
		s += ", " + p
	}
	return s
}

// Edge writes an edge of a-h/kv's graph package as it stored one: the
// edge record and its two index records, the parts of each key
// path-escaped.
func (w *Writer) Edge(fromType, fromID, edgeType, toType, toID, data string, created time.Time) {
	esc := func(parts ...string) string {
		for i, p := range parts {
			parts[i] = url.PathEscape(p)
		}
		return strings.Join(parts, "/")
	}
	node := func(id, typ string) map[string]string { return map[string]string{"id": id, "type": typ} }
	edge := map[string]any{"from": node(fromID, fromType), "to": node(toID, toType), "type": edgeType}
	if data != "" {
		edge["data"] = json.RawMessage(data)
	}
	v, _ := json.Marshal(edge)
	w.Put("graph/edge/"+esc(fromType, fromID, edgeType, toType, toID), string(v), "Edge", created)
	out, _ := json.Marshal(map[string]any{"node": node(toID, toType), "edgeType": edgeType})
	w.Put("graph/node/"+esc(fromType, fromID)+"/outgoing/"+esc(edgeType, toType, toID), string(out), "EdgeRef", created)
	in, _ := json.Marshal(map[string]any{"node": node(fromID, fromType), "edgeType": edgeType})
	w.Put("graph/node/"+esc(toType, toID)+"/incoming/"+esc(edgeType, fromType, fromID), string(in), "EdgeRef", created)
}
