package seedimport

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// sqliteQuerier reads an a-h/kv SQLite database file, read-only, in one
// read transaction (one snapshot).
type sqliteQuerier struct {
	db   *sql.DB
	conn *sql.Conn
}

// openSQLite opens the SQLite database conn names (a path or a file: URI,
// as a-h/kv's --connection took it) read-only: mode=ro replaces any mode,
// so a missing file is an error, not created.
func openSQLite(ctx context.Context, conn string) (querier, error) {
	dsn, err := readOnlyDSN(conn)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	c, err := db.Conn(ctx)
	if err == nil {
		_, err = c.ExecContext(ctx, "BEGIN")
	}
	if err != nil {
		if c != nil {
			c.Close()
		}
		db.Close()
		return nil, fmt.Errorf("open %s: %w", dsn, err)
	}
	return &sqliteQuerier{db: db, conn: c}, nil
}

// readOnlyDSN is conn as a file: URI that opens the file read-only.
func readOnlyDSN(conn string) (string, error) {
	path, query, _ := strings.Cut(strings.TrimPrefix(conn, "file:"), "?")
	if path == "" || path == ":memory:" {
		return "", fmt.Errorf("connection %q names no database file", conn)
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("connection %q: %v", conn, err)
	}
	params.Set("mode", "ro")
	params.Set("_pragma", "busy_timeout(5000)")
	return "file:" + path + "?" + params.Encode(), nil
}

func (q *sqliteQuerier) query(ctx context.Context, sqlText string, args []any, fn func(row []any) error) error {
	rows, err := q.conn.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (q *sqliteQuerier) text(s string) any { return s }

// payload: a-h/kv's SQLite driver stored a task's payload bytes as a BLOB.
func (q *sqliteQuerier) payload(v any) ([]byte, error) {
	s, err := asString(v)
	return []byte(s), err
}

func (q *sqliteQuerier) close() error {
	_, _ = q.conn.ExecContext(context.Background(), "ROLLBACK")
	q.conn.Close()
	return q.db.Close()
}
