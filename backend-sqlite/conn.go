package sqlitekv

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"fmt"

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
func (c *conn) stmt(ctx context.Context, q string) (sqldriver.StmtQueryContext, error) {
	s := c.stmts[q]
	if s == nil {
		var err error
		if s, err = c.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		c.stmts[q] = s
	}
	sq, ok := s.(sqldriver.StmtQueryContext)
	if !ok {
		return nil, fmt.Errorf("sqlitekv: driver statement %T lacks QueryContext", s)
	}
	return sq, nil
}
