package badinput

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the database/sql driver that dump reads with

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/kvcore"
)

// openMemory opens an initialized in-memory SQLite store, closed when the
// test ends.
func openMemory(tb testing.TB, opts ...kvcore.Option) (*sqlitekv.DB, *kvcore.Store) {
	tb.Helper()
	db, err := sqlitekv.OpenMemory()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Init(context.Background()); err != nil {
		tb.Fatal(err)
	}
	st, err := db.Store(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return db, st
}

// openFile opens an initialized SQLite store in a new file of the test's
// temporary directory and returns it with the file's path.
func openFile(tb testing.TB) (*sqlitekv.DB, *kvcore.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "data.db")
	db, err := sqlitekv.Open("file:" + path + "?mode=rwc")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Init(context.Background()); err != nil {
		tb.Fatal(err)
	}
	st, err := db.Store()
	if err != nil {
		tb.Fatal(err)
	}
	return db, st, path
}

// dump returns every row of every table of the SQLite database at path (the
// records of all namespaces, the stream and its seq, leases, consumers,
// tasks, schedules and the schema), read through a connection of its own,
// one line a row, sorted: two dumps are equal when nothing changed.
func dump(tb testing.TB, path string) string {
	tb.Helper()
	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	rows, err := conn.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		tb.Fatalf("dump %s: %v", path, err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			tb.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	rows.Close()
	if len(tables) == 0 {
		tb.Fatalf("dump %s: no tables", path)
	}
	var out strings.Builder
	for _, t := range tables {
		lines := tableRows(tb, conn, t)
		fmt.Fprintf(&out, "table %s (%d rows)\n", t, len(lines))
		for _, l := range lines {
			out.WriteString(l + "\n")
		}
	}
	return out.String()
}

func tableRows(tb testing.TB, conn *sql.DB, table string) []string {
	tb.Helper()
	rows, err := conn.Query(`SELECT * FROM "` + strings.ReplaceAll(table, `"`, `""`) + `"`)
	if err != nil {
		tb.Fatalf("dump table %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		tb.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatal(err)
		}
		var b strings.Builder
		for i, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%s=%q ", cols[i], fmt.Sprint(v))
		}
		lines = append(lines, b.String())
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	slices.Sort(lines)
	return lines
}

// diff describes how two dumps differ (the first differing lines).
func diff(before, after string) string {
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	var out []string
	for i := 0; i < len(b) || i < len(a); i++ {
		var x, y string
		if i < len(b) {
			x = b[i]
		}
		if i < len(a) {
			y = a[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n  before %s\n  after  %s", i, x, y))
		}
		if len(out) == 3 {
			break
		}
	}
	return strings.Join(out, "\n")
}
