package rqlitekv

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rqlite/gorqlite"
	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/sqlitedialect"
)

// TestMigrateFromEveryVersion: a database that stops short of each
// migration, holding rows in every table it has, migrates to exactly a
// fresh database's schema, its rows kept (converted as migration 9 says:
// a released lease's expires NULL, a free task's locked_by empty, a
// schedule's next_tick as next).
func TestMigrateFromEveryVersion(t *testing.T) {
	ctx := context.Background()
	db := openEmpty(t)
	want := rqliteSchema(t, db)
	for n, short := range migrations {
		t.Run(short.name, func(t *testing.T) {
			dropAll(t, db)
			for _, m := range migrations[:n] {
				require.NoError(t, db.migrate(ctx, m), m.name)
			}
			converged := n > 0 && migrations[n-1].version >= sqlitedialect.Converged
			tables := seedOld(t, db, converged)
			before := rowsOf(t, db, tables, !converged)
			require.NoError(t, db.Init(ctx))
			require.Equal(t, want, rqliteSchema(t, db), "schema after migrating")
			require.Equal(t, before, rowsOf(t, db, tables, false), "rows after migrating")
		})
	}
}

// rqliteSchema is the database's schema, one normalised object a line.
func rqliteSchema(t *testing.T, db *DB) string {
	t.Helper()
	qr, err := db.queryOne(context.Background(), "schema", gorqlite.ParameterizedStatement{Query: sqlitedialect.SchemaQuery})
	require.NoError(t, err)
	var b strings.Builder
	for qr.Next() {
		row, err := qr.Slice()
		require.NoError(t, err)
		fmt.Fprintf(&b, "%v %v: %s\n", row[0], row[1], sqlitedialect.Normalize(fmt.Sprint(row[2])))
	}
	return b.String()
}

// oldRows are the rows seedOld stores, per table, as schema versions
// before 9 hold them (insert) and, where the shared schema differs, as
// versions from 9 on hold them (insert9). cols are the columns every
// version has; legacy reads the old rows as migration 9 converts them.
var oldRows = []struct{ table, cols, legacy, insert, insert9, order string }{
	{"records", "namespace, key, version, type, created, updated, expires, value", "",
		`INSERT INTO records VALUES ('n', 'k', 3, 't', 1000, 2000, NULL, '{"a":1}'), ('n', 'e', 1, '', 1000, 1000, 5000, '2')`, "", "namespace, key"},
	{"stream", "seq, namespace, key, action, version, type, value, ts", "",
		`INSERT INTO stream (namespace, key, action, version, type, value, ts) VALUES ('n', 'k', 'put', 3, 't', '{"a":1}', 2000), ('n', 'x', 'delete', 2, '', NULL, 2500)`, "", "seq"},
	{"leases", "name, owner, token, expires", "name, owner, token, CASE WHEN owner = '' THEN NULL ELSE expires END",
		`INSERT INTO leases (name, owner, token, expires) VALUES ('held', 'alice', 4, 1900000000000000), ('free', '', 2, 0)`,
		`INSERT INTO leases (name, owner, token, expires) VALUES ('held', 'alice', 4, 1900000000000000), ('free', '', 2, NULL)`, "name"},
	{"stream_meta", "id, trimmed", "", `UPDATE stream_meta SET trimmed = 0`, "", "id"},
	{"consumers", "name, position, updated", "", `INSERT INTO consumers VALUES ('c', 1, 2000)`, "", "name"},
	{"tasks", "id, name, payload, status, priority, unique_key, created, scheduled_for, started, completed, attempts, " +
		"max_retries, timeout, last_error, locked_by, locked_until, token, cancel_requested",
		"id, name, payload, status, priority, unique_key, created, scheduled_for, started, completed, attempts, " +
			"max_retries, timeout, last_error, coalesce(locked_by, ''), locked_until, token, cancel_requested",
		`INSERT INTO tasks (id, name, payload, status, priority, unique_key, created, scheduled_for, started, completed, attempts,
max_retries, timeout, last_error, locked_by, locked_until, token, cancel_requested) VALUES
('p', 'job', '{"x":1}', 'pending', 2, 'u', 1000, 3000, NULL, NULL, 0, 3, 0, '', NULL, NULL, 0, 0),
('r', 'job', 'null', 'running', 0, NULL, 1000, 1000, 1500, NULL, 1, 0, 60000000, '', 'w1', 1900000000000000, 1, 0),
('d', 'other', 'null', 'completed', 0, NULL, 1000, 1000, 1500, 1600, 1, 0, 0, 'boom', NULL, NULL, 1, 0)`,
		`INSERT INTO tasks (id, name, payload, status, priority, unique_key, created, scheduled_for, started, completed, attempts,
max_retries, timeout, last_error, locked_by, locked_until, token, cancel_requested) VALUES
('p', 'job', '{"x":1}', 'pending', 2, 'u', 1000, 3000, NULL, NULL, 0, 3, 0, '', '', NULL, 0, 0),
('r', 'job', 'null', 'running', 0, NULL, 1000, 1000, 1500, NULL, 1, 0, 60000000, '', 'w1', 1900000000000000, 1, 0),
('d', 'other', 'null', 'completed', 0, NULL, 1000, 1000, 1500, 1600, 1, 0, 0, 'boom', '', NULL, 1, 0)`, "id"},
	{"schedules", "name, spec, template, next", "name, spec, template, next_tick",
		`INSERT INTO schedules (name, spec, template, next_tick) VALUES ('s', '@every 1m', '{"name":"job"}', 5000)`,
		`INSERT INTO schedules (name, spec, template, next) VALUES ('s', '@every 1m', '{"name":"job"}', 5000)`, "name"},
}

// seedOld stores oldRows in the tables the database has (in the shared
// schema's form if converged) and returns them.
func seedOld(t *testing.T, db *DB, converged bool) []string {
	t.Helper()
	ctx := context.Background()
	var tables []string
	for _, r := range oldRows {
		qr, err := db.queryOne(ctx, "seed", gorqlite.ParameterizedStatement{
			Query: "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", Arguments: []any{r.table}})
		require.NoError(t, err)
		if qr.NumRows() == 0 {
			continue
		}
		insert := r.insert
		if converged && r.insert9 != "" {
			insert = r.insert9
		}
		_, err = db.conn.WriteOneContext(ctx, insert)
		require.NoError(t, err, r.table)
		tables = append(tables, r.table)
	}
	return tables
}

// rowsOf is the rows of tables as SQL literals (exact), read with the
// legacy expressions or the columns.
func rowsOf(t *testing.T, db *DB, tables []string, legacy bool) string {
	t.Helper()
	var b strings.Builder
	for _, r := range oldRows {
		if !strings.Contains(" "+strings.Join(tables, " ")+" ", " "+r.table+" ") {
			continue
		}
		cols := r.cols
		if legacy && r.legacy != "" {
			cols = r.legacy
		}
		// One text column: every value quoted, so that integers stay exact
		// and NULL differs from ''.
		var quoted []string
		for _, c := range splitCols(cols) {
			quoted = append(quoted, "quote("+c+")")
		}
		qr, err := db.queryOne(context.Background(), "rows", gorqlite.ParameterizedStatement{
			Query: "SELECT " + strings.Join(quoted, " || ' ' || ") + " FROM " + r.table + " ORDER BY " + r.order})
		require.NoError(t, err, r.table)
		for qr.Next() {
			row, err := qr.Slice()
			require.NoError(t, err)
			fmt.Fprintf(&b, "%s %v\n", r.table, row[0])
		}
	}
	return b.String()
}

// splitCols splits a column list at its top-level commas.
func splitCols(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// TestInitOnSQLiteSchema: a database with the SQLite backend's schema, as
// its migrations and version records leave it (a SQLite file loaded into
// rqlite), gets rqlite's own tables from Init, the same schema as a fresh
// database, and takes writes.
func TestInitOnSQLiteSchema(t *testing.T) {
	ctx := context.Background()
	db := openEmpty(t)
	want := rqliteSchema(t, db)
	dropAll(t, db)
	stmts := []string{createMigrations}
	for _, m := range sqlitedialect.Migrations() {
		stmts = append(stmts, m.Statements()...)
		stmts = append(stmts, fmt.Sprintf("INSERT INTO schema_migrations (version, name, applied) VALUES (%d, '%s', 0)", m.Version, m.Name))
	}
	_, err := db.conn.WriteContext(ctx, stmts)
	require.NoError(t, err)
	require.NoError(t, db.Init(ctx))
	require.Equal(t, want, rqliteSchema(t, db))
	s, err := db.Store()
	require.NoError(t, err)
	require.NoError(t, s.Put(ctx, "k", 0, 1))
	var v int
	_, ok, err := s.Get(ctx, "k", &v)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, v)
}
