package sqlitekv

import (
	"context"
	"database/sql"
	"time"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

// The optional driver interfaces a *DB implements (administration).
var (
	_ coredriver.NamespaceLister = (*DB)(nil)
	_ coredriver.SchemaVersioner = (*DB)(nil)
	_ lockdriver.LeaseLister     = (*DB)(nil)
	_ streamdriver.NotifyScope   = (*DB)(nil)
)

// Namespaces returns the namespaces holding a record live at now (see
// kvcore/driver.NamespaceLister), in byte order.
func (db *DB) Namespaces(ctx context.Context, now time.Time) ([]string, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	stmt, err := db.readStmt(ctx, sqlitedialect.Namespaces)
	if err != nil {
		return nil, db.dbError("namespaces", err)
	}
	out, err := scanNamespaces(stmt.QueryContext(ctx, now.UnixMicro()))
	if err != nil {
		return nil, db.dbError("namespaces", err)
	}
	return out, nil
}

// scanNamespaces reads the rows of sqlitedialect.Namespaces.
func scanNamespaces(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var ns string
		if err := rows.Scan(&ns); err != nil {
			return nil, err
		}
		out = append(out, ns)
	}
	return out, rows.Err()
}

// SchemaVersion returns the newest migration applied (0: no schema yet,
// before Init) and the version this driver needs. The applied version is
// the highest row of schema_migrations.
func (db *DB) SchemaVersion(ctx context.Context) (applied, required int, err error) {
	if db.closed.Load() {
		return 0, 0, coredriver.ErrClosed
	}
	applied, err = db.schemaVersion(ctx)
	if err != nil {
		return 0, 0, err
	}
	return applied, latestVersion(), nil
}

// HeldLeases returns the leases named in r that are held at now (see
// kvlock/driver.LeaseLister): a range of the leases primary key.
func (db *DB) HeldLeases(ctx context.Context, r lockdriver.NameRange, now time.Time) ([]lockdriver.Lease, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	q := "SELECT " + leaseColumns + " FROM leases WHERE name >= ? AND owner != '' AND expires > ?"
	args := []any{r.From, now.UnixMicro()}
	if r.HasTo {
		q += " AND name < ?"
		args = append(args, r.To)
	}
	stmt, err := db.readStmt(ctx, q+" ORDER BY name")
	if err != nil {
		return nil, db.dbError("leases", err)
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, db.dbError("leases", err)
	}
	defer rows.Close()
	out := []lockdriver.Lease{}
	for rows.Next() {
		le, err := scanLease(rows)
		if err != nil {
			return nil, db.dbError("leases", err)
		}
		out = append(out, le)
	}
	if err := rows.Err(); err != nil {
		return nil, db.dbError("leases", err)
	}
	return out, nil
}

// NotifiesOtherProcesses reports false: Subscribe is signalled by this
// DB's own commits only (another process's writes to the same file are not
// seen until a consumer polls). See kvstream/driver.NotifyScope.
func (db *DB) NotifiesOtherProcesses() bool { return false }
