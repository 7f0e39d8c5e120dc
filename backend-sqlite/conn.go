package sqlitekv

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"fmt"
	"io"

	"modernc.org/sqlite"
)

// openPool opens a database/sql pool of exactly n long-lived connections to
// dsn, each wrapped in a *conn.
func openPool(dsn string, n int) (*sql.DB, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	d := sql.OpenDB(connector{base})
	setPool(d, n)
	return d, nil
}

// setPool makes a pool of exactly n long-lived connections.
func setPool(d *sql.DB, n int) {
	d.SetMaxOpenConns(n)
	d.SetMaxIdleConns(n)
	d.SetConnMaxLifetime(0)
	d.SetConnMaxIdleTime(0)
}

// connector opens modernc.org/sqlite connections wrapped in *conn.
type connector struct{ base sqldriver.Connector }

// Connect implements driver.Connector.
func (c connector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	dc, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(sqliteConn)
	if !ok {
		_ = dc.Close()
		return nil, fmt.Errorf("sqlitekv: driver connection %T lacks the context methods", dc)
	}
	return &conn{sqliteConn: sc, stmts: map[string]sqldriver.Stmt{}}, nil
}

// Driver implements driver.Connector.
func (c connector) Driver() sqldriver.Driver { return c.base.Driver() }

// sqliteConn is what database/sql uses of a modernc.org/sqlite connection.
type sqliteConn interface {
	sqldriver.Conn
	sqldriver.ConnBeginTx
	sqldriver.ConnPrepareContext
	sqldriver.ExecerContext
	sqldriver.QueryerContext
	sqldriver.Pinger
	sqldriver.SessionResetter
	sqldriver.Validator
}

// conn is one pooled connection with the driver statements that
// DB.queryRecords prepared on it. database/sql hands a connection to one
// user at a time, so its fields need no lock.
type conn struct {
	sqliteConn
	stmts map[string]sqldriver.Stmt     // by SQL text; the set of queries is small and fixed
	args  []sqldriver.NamedValue        // reused per query
	dest  [recordFields]sqldriver.Value // reused per row
}

// Close closes the connection's statements, then the connection.
func (c *conn) Close() error {
	for _, s := range c.stmts {
		_ = s.Close()
	}
	c.stmts = nil
	return c.sqliteConn.Close()
}

// stmt returns the connection's prepared statement for q, preparing it on
// first use.
func (c *conn) stmt(ctx context.Context, q string) (sqldriver.Stmt, error) {
	s := c.stmts[q]
	if s == nil {
		var err error
		if s, err = c.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		c.stmts[q] = s
	}
	return s, nil
}

// bind sets c.args to args as the driver takes them.
func (c *conn) bind(args []any) error {
	c.args = c.args[:0]
	for i, a := range args {
		var v sqldriver.Value
		switch a := a.(type) {
		case nil, string, int64:
			v = a
		default:
			var err error
			if v, err = sqldriver.DefaultParameterConverter.ConvertValue(a); err != nil {
				return err
			}
		}
		c.args = append(c.args, sqldriver.NamedValue{Ordinal: i + 1, Value: v})
	}
	return nil
}

// query runs q with args on the connection's prepared statement for it.
func (c *conn) query(ctx context.Context, q string, args []any) (sqldriver.Rows, error) {
	s, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	sq, ok := s.(sqldriver.StmtQueryContext)
	if !ok {
		return nil, fmt.Errorf("sqlitekv: driver statement %T lacks QueryContext", s)
	}
	if err := c.bind(args); err != nil {
		return nil, err
	}
	defer clear(c.args)
	return sq.QueryContext(ctx, c.args)
}

// exec runs q with args on the connection's prepared statement for it and
// returns the number of rows it changed.
func (c *conn) exec(ctx context.Context, q string, args []any) (int64, error) {
	s, err := c.stmt(ctx, q)
	if err != nil {
		return 0, err
	}
	se, ok := s.(sqldriver.StmtExecContext)
	if !ok {
		return 0, fmt.Errorf("sqlitekv: driver statement %T lacks ExecContext", s)
	}
	if err := c.bind(args); err != nil {
		return 0, err
	}
	r, err := se.ExecContext(ctx, c.args)
	clear(c.args)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// queryRow reads the first row of q with args into dest and reports
// whether there was one.
func (c *conn) queryRow(ctx context.Context, q string, args []any, dest []sqldriver.Value) (bool, error) {
	rows, err := c.query(ctx, q, args)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	switch err := rows.Next(dest); err {
	case nil:
		return true, nil
	case io.EOF:
		return false, nil
	default:
		return false, err
	}
}
