package seedimport

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/rqlite/gorqlite"
)

// rqliteQuerier reads an a-h/kv rqlite database with queries only.
type rqliteQuerier struct {
	conn *gorqlite.Connection
}

func openRQLite(_ context.Context, conn string) (querier, error) {
	c, err := gorqlite.Open(conn)
	if err != nil {
		return nil, err
	}
	return &rqliteQuerier{conn: c}, nil
}

func (q *rqliteQuerier) query(ctx context.Context, sql string, args []any, fn func(row []any) error) error {
	qr, err := q.conn.QueryOneParameterizedContext(ctx, gorqlite.ParameterizedStatement{Query: sql, Arguments: args})
	if err != nil {
		return err
	}
	if qr.Err != nil {
		return qr.Err
	}
	for qr.Next() {
		row, err := qr.Slice()
		if err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

// text sends s as a BLOB literal (x'...'), which the queries CAST to
// TEXT: rqlite would turn a text that looks like one into a BLOB anyway,
// and a BLOB never compares equal to a text.
func (q *rqliteQuerier) text(s string) any { return "x'" + hex.EncodeToString([]byte(s)) + "'" }

// payload: a-h/kv's rqlite driver sent a task's payload bytes as JSON,
// which encodes them in base64, and decoded them again when reading.
func (q *rqliteQuerier) payload(v any) ([]byte, error) {
	s, err := asString(v)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64, as a-h/kv's rqlite driver stored payloads: %v", err)
	}
	return b, nil
}

func (q *rqliteQuerier) close() error {
	q.conn.Close()
	return nil
}
