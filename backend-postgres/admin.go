package postgreskv

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// The optional driver interfaces a *DB implements (administration).
var (
	_ coredriver.NamespaceLister = (*DB)(nil)
	_ coredriver.SchemaVersioner = (*DB)(nil)
	_ lockdriver.LeaseLister     = (*DB)(nil)
	_ streamdriver.NotifyScope   = (*DB)(nil)
)

// Namespaces returns the namespaces holding a record live at now (see
// kvcore/driver.NamespaceLister), in byte order. It walks the distinct
// namespaces of the primary key index, one index probe each (a loose index
// scan), and keeps those with a live record.
func (db *DB) Namespaces(ctx context.Context, now time.Time) ([]string, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	return queryRows(ctx, db, pgx.RowTo[string], db.namespacesSQL(), utc(now))
}

// namespacesSQL is the statement of Namespaces; its argument is the time
// that judges expiry.
func (db *DB) namespacesSQL() string {
	return `WITH RECURSIVE ns(n) AS (
	SELECT (SELECT namespace FROM ` + db.records + ` ORDER BY namespace LIMIT 1)
	UNION ALL
	SELECT (SELECT namespace FROM ` + db.records + ` WHERE namespace > ns.n ORDER BY namespace LIMIT 1) FROM ns WHERE ns.n IS NOT NULL
)
SELECT n FROM ns WHERE n IS NOT NULL
	AND EXISTS (SELECT 1 FROM ` + db.records + ` r WHERE r.namespace = ns.n AND ` + live("$1") + `)`
}

// SchemaVersion returns the newest migration applied (the highest version
// in kv_schema_migrations; 0 before Init) and the version this driver
// needs.
func (db *DB) SchemaVersion(ctx context.Context) (applied, required int, err error) {
	if err := db.check(); err != nil {
		return 0, 0, err
	}
	applied, err = db.schemaVersion(ctx, db.pool)
	if err != nil {
		return 0, 0, db.mapError(err)
	}
	return applied, len(migrations), nil
}

// HeldLeases returns the leases named in r that are held at now (see
// kvlock/driver.LeaseLister): a range of the leases' primary key.
func (db *DB) HeldLeases(ctx context.Context, r lockdriver.NameRange, now time.Time) ([]lockdriver.Lease, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	sql := `SELECT name, ` + leaseColumns + ` FROM ` + db.leases + ` WHERE name >= $1 AND owner <> '' AND expires > $2`
	args := []any{r.From, utc(now)}
	if r.HasTo {
		sql += ` AND name < $3`
		args = append(args, r.To)
	}
	return queryRows(ctx, db, func(row pgx.CollectableRow) (lockdriver.Lease, error) {
		var le lockdriver.Lease
		dest, finish := leaseDest(&le)
		err := row.Scan(append([]any{&le.Name}, dest...)...)
		finish()
		return le, err
	}, sql+` ORDER BY name`, args...)
}

// NotifiesOtherProcesses reports whether Subscribe's signals cover every
// process's commits: LISTEN/NOTIFY crosses processes and hosts, so it is
// true unless this DB was opened WithoutNotify (which suggests a deployment
// without notifications, such as one behind PgBouncer in transaction
// mode). See kvstream/driver.NotifyScope.
func (db *DB) NotifiesOtherProcesses() bool { return db.notify }
