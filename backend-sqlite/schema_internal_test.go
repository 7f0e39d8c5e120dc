package sqlitekv

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvsuite/kv/sqlitedialect"
)

// TestMigrateFromEveryVersion: a database that stops short of each
// migration, holding rows in every table it has, migrates to exactly a
// fresh database's schema, its rows kept.
func TestMigrateFromEveryVersion(t *testing.T) {
	ctx := context.Background()
	want := schemaOf(t, openAt(t, filepath.Join(t.TempDir(), "fresh.db"), len(migrations)).rdb)
	for n, short := range migrations {
		t.Run(short.name, func(t *testing.T) {
			db := openAt(t, filepath.Join(t.TempDir(), "kv.db"), n)
			tables := seedOld(t, db.wdb)
			before := rowsOf(t, db.wdb, tables)
			if err := db.Init(ctx); err != nil {
				t.Fatal(err)
			}
			if got := schemaOf(t, db.rdb); got != want {
				t.Errorf("schema after migrating:\n%s\nwant (fresh):\n%s", got, want)
			}
			if after := rowsOf(t, db.rdb, tables); after != before {
				t.Errorf("rows after migrating:\n%s\nbefore:\n%s", after, before)
			}
		})
	}
}

// openAt opens a new database at path with the first n migrations applied
// and recorded as Init records them (all of them: Init itself).
func openAt(t *testing.T, path string, n int) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if n == len(migrations) {
		if err := db.Init(context.Background()); err != nil {
			t.Fatal(err)
		}
		return db
	}
	if _, err := db.wdb.Exec(createMigrationsTable); err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:n] {
		if _, err := db.wdb.Exec(m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if _, err := db.wdb.Exec("INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, 0)", m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// schemaOf is the database's schema, one normalised object a line.
func schemaOf(t *testing.T, q *sql.DB) string {
	t.Helper()
	rows, err := q.Query(sqlitedialect.SchemaQuery)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, stmt string
		if err := rows.Scan(&typ, &name, &stmt); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s: %s\n", typ, name, sqlitedialect.Normalize(stmt))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// oldRows are the rows seedOld stores, per table, with the columns every
// schema version has.
var oldRows = []struct{ table, cols, insert, order string }{
	{"records", "namespace, key, version, type, created, updated, expires, value",
		`INSERT INTO records VALUES ('n', 'k', 3, 't', 1000, 2000, NULL, '{"a":1}'), ('n', 'e', 1, '', 1000, 1000, 5000, '2')`, "namespace, key"},
	{"stream", "seq, namespace, key, action, version, type, value, ts",
		`INSERT INTO stream (namespace, key, action, version, type, value, ts) VALUES ('n', 'k', 'put', 3, 't', '{"a":1}', 2000), ('n', 'x', 'delete', 2, '', NULL, 2500)`, "seq"},
	{"leases", "name, owner, token, expires",
		`INSERT INTO leases (name, owner, token, expires) VALUES ('held', 'alice', 4, 1900000000000000), ('free', '', 2, NULL)`, "name"},
	{"stream_meta", "id, trimmed", `UPDATE stream_meta SET trimmed = 0`, "id"},
	{"consumers", "name, position, updated", `INSERT INTO consumers VALUES ('c', 1, 2000)`, "name"},
	{"tasks", "id, name, payload, status, priority, unique_key, created, scheduled_for, started, completed, attempts, " +
		"max_retries, timeout, last_error, locked_by, locked_until, token, cancel_requested",
		`INSERT INTO tasks (id, name, payload, status, priority, unique_key, created, scheduled_for, started, completed, attempts,
max_retries, timeout, last_error, locked_by, locked_until, token, cancel_requested) VALUES
('p', 'job', '{"x":1}', 'pending', 2, 'u', 1000, 3000, NULL, NULL, 0, 3, 0, '', '', NULL, 0, 0),
('r', 'job', 'null', 'running', 0, NULL, 1000, 1000, 1500, NULL, 1, 0, 60000000, '', 'w1', 1900000000000000, 1, 0),
('d', 'other', 'null', 'completed', 0, NULL, 1000, 1000, 1500, 1600, 1, 0, 0, 'boom', '', NULL, 1, 0)`, "id"},
	{"schedules", "name, spec, template, next",
		`INSERT INTO schedules (name, spec, template, next) VALUES ('s', '@every 1m', '{"name":"job"}', 5000)`, "name"},
}

// seedOld stores oldRows in the tables the database has and returns them.
func seedOld(t *testing.T, q *sql.DB) []string {
	t.Helper()
	var tables []string
	for _, r := range oldRows {
		var n int
		if err := q.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", r.table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			continue
		}
		if _, err := q.Exec(r.insert); err != nil {
			t.Fatalf("%s: %v", r.table, err)
		}
		tables = append(tables, r.table)
	}
	return tables
}

// rowsOf is the rows of tables, oldRows' columns, as text.
func rowsOf(t *testing.T, q *sql.DB, tables []string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range oldRows {
		if !strings.Contains(" "+strings.Join(tables, " ")+" ", " "+r.table+" ") {
			continue
		}
		rows, err := q.Query("SELECT " + r.cols + " FROM " + r.table + " ORDER BY " + r.order)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", r.table, vals)
		}
		rows.Close()
	}
	return b.String()
}
