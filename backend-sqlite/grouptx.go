package sqlitekv

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"fmt"
)

// wtx is the writer's transaction as a request sees it.
type wtx struct {
	ctx    context.Context
	conn   *sql.Conn // the writer connection, held for the group
	tx     *sql.Tx   // the group's transaction on conn
	holder *sql.Stmt // sHolder prepared on tx, on first use
	tasks  bool      // a request made tasks claimable: signal SubscribeTasks after the commit
	wrote  bool      // exec ran since runTx last cleared it
}

// exec runs writer statement id with args and returns the number of rows it
// changed. It runs the connection's own prepared driver statement, without
// database/sql's layer (a put runs three statements), inside tx: SQLite's
// transaction belongs to the connection.
func (w *wtx) exec(id int, args ...any) (int64, error) {
	w.wrote = true
	var n int64
	err := w.raw(func(c *conn) error {
		var err error
		n, err = c.exec(w.ctx, writerSQL[id], args)
		return err
	})
	return n, err
}

// queryRow reads the first row of writer statement id with args into dest
// and reports whether there was one.
func (w *wtx) queryRow(id int, dest []sqldriver.Value, args ...any) (bool, error) {
	var found bool
	err := w.raw(func(c *conn) error {
		var err error
		found, err = c.queryRow(w.ctx, writerSQL[id], args, dest)
		return err
	})
	return found, err
}

// raw calls f with the writer's driver connection.
func (w *wtx) raw(f func(c *conn) error) error {
	return w.conn.Raw(func(dc any) error {
		c, ok := dc.(*conn)
		if !ok {
			return fmt.Errorf("sqlitekv: writer connection is a %T", dc)
		}
		return f(c)
	})
}

// holderRow reads the pending or running task holding unique key.
func (w *wtx) holderRow(key string) (*sql.Row, error) {
	if w.holder == nil {
		s, err := w.tx.PrepareContext(w.ctx, writerSQL[sHolder])
		if err != nil {
			return nil, err
		}
		w.holder = s
	}
	return w.holder.QueryRowContext(w.ctx, key), nil
}
