package rqlitekv

import (
	"context"
	"fmt"
	"time"

	"github.com/rqlite/gorqlite"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

// The optional driver interfaces a *DB implements (administration; its
// Notifiers are in notify.go).
var (
	_ coredriver.NamespaceLister = (*DB)(nil)
	_ coredriver.SchemaVersioner = (*DB)(nil)
	_ lockdriver.LeaseLister     = (*DB)(nil)
)

// Namespaces returns the namespaces holding a record live at now (see
// kvcore/driver.NamespaceLister), in byte order.
func (db *DB) Namespaces(ctx context.Context, now time.Time) ([]string, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	qr, err := db.queryOne(ctx, "namespaces", gorqlite.ParameterizedStatement{Query: sqlitedialect.Namespaces, Arguments: []any{now.UnixMicro()}})
	if err != nil {
		return nil, err
	}
	return scanRows("namespaces", qr, 1, func(row []any) (string, error) {
		ns, ok := row[0].(string)
		if !ok {
			return "", fmt.Errorf("namespace: unexpected %T", row[0])
		}
		return ns, nil
	})
}

// SchemaVersion returns the newest migration applied (the highest version
// in schema_migrations; 0 before Init) and the version this driver needs.
func (db *DB) SchemaVersion(ctx context.Context) (applied, required int, err error) {
	if err := db.usable(ctx); err != nil {
		return 0, 0, err
	}
	applied, _, err = db.schemaVersion(ctx)
	if err != nil {
		return 0, 0, err
	}
	return applied, latestVersion(), nil
}

// HeldLeases returns the leases named in r that are held at now (see
// kvlock/driver.LeaseLister): a range of the leases' primary key, one read
// request.
func (db *DB) HeldLeases(ctx context.Context, r lockdriver.NameRange, now time.Time) ([]lockdriver.Lease, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	q := "SELECT name, " + leaseColumns + " FROM leases WHERE name >= " + textArg +
		" AND owner <> '' AND expires > ?"
	args := []any{txt(r.From), now.UnixMicro()}
	if r.HasTo {
		q += " AND name < " + textArg
		args = append(args, txt(r.To))
	}
	qr, err := db.queryOne(ctx, "leases", gorqlite.ParameterizedStatement{Query: q + " ORDER BY name", Arguments: args})
	if err != nil {
		return nil, err
	}
	return scanRows("leases", qr, 1+leaseColumnCount, func(row []any) (lockdriver.Lease, error) {
		name, ok := row[0].(string)
		if !ok {
			return lockdriver.Lease{}, fmt.Errorf("name: unexpected %T", row[0])
		}
		return leaseRow(name, row[1:])
	})
}
