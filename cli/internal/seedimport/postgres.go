package seedimport

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// postgresQuerier reads an a-h/kv PostgreSQL database in one read-only
// repeatable-read transaction (one snapshot).
type postgresQuerier struct {
	conn *pgx.Conn
	tx   pgx.Tx
}

func openPostgres(ctx context.Context, conn string) (querier, error) {
	c, err := pgx.Connect(ctx, conn)
	if err != nil {
		return nil, err
	}
	tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		c.Close(ctx)
		return nil, err
	}
	return &postgresQuerier{conn: c, tx: tx}, nil
}

func (q *postgresQuerier) query(ctx context.Context, sql string, args []any, fn func(row []any) error) error {
	rows, err := q.tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (q *postgresQuerier) text(s string) any { return s }

// payload: a-h/kv's PostgreSQL driver stored a task's payload as text.
func (q *postgresQuerier) payload(v any) ([]byte, error) {
	s, err := asString(v)
	return []byte(s), err
}

func (q *postgresQuerier) close() error {
	ctx := context.Background()
	_ = q.tx.Rollback(ctx)
	return q.conn.Close(ctx)
}
