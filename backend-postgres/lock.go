package postgreskv

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	lockdriver "github.com/kvsuite/kv/kvlock/driver"
)

var _ lockdriver.Locker = (*DB)(nil)

// Acquire grants the lease name to owner until now+ttl if it is free (no
// row, released, or expired at now) or already held by owner (an
// extension, which keeps the token); see kvlock/driver.Locker. It is one
// statement: the upsert locks the lease row, so two owners never both win.
func (db *DB) Acquire(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (lockdriver.Lease, bool, error) {
	if err := db.check(); err != nil {
		return lockdriver.Lease{}, false, err
	}
	now = utc(now)
	sql := `WITH up AS (
	INSERT INTO ` + db.leases + ` AS l (name, owner, token, expires) VALUES ($1, $2, 1, $4)
	ON CONFLICT (name) DO UPDATE SET
	token = CASE WHEN l.owner = EXCLUDED.owner AND l.expires > $3 THEN l.token ELSE l.token + 1 END,
	owner = EXCLUDED.owner, expires = EXCLUDED.expires
	WHERE l.owner = EXCLUDED.owner OR l.owner = '' OR l.expires IS NULL OR l.expires <= $3
	RETURNING owner, token, expires)
SELECT owner, token, expires, true FROM up
UNION ALL
SELECT owner, token, expires, false FROM ` + db.leases + ` WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM up)`
	// The refusal's second SELECT reads the statement's snapshot, which
	// may predate the row that refused: then it finds nothing, and the
	// statement runs again.
	for attempt := 0; ; attempt++ {
		le := lockdriver.Lease{Name: name}
		var expires *time.Time
		var ok bool
		err := db.pool.QueryRow(ctx, sql, name, owner, now, now.Add(ttl)).Scan(&le.Owner, &le.Token, &expires, &ok)
		if errors.Is(err, pgx.ErrNoRows) && attempt < 10 {
			continue
		}
		if err != nil {
			return lockdriver.Lease{}, false, db.mapError(err)
		}
		if expires != nil {
			le.Expires = expires.UTC()
		}
		return le, ok, nil
	}
}

// Release frees the lease if owner holds it at now, clearing its owner and
// expiry and keeping its token, and reports whether it did.
func (db *DB) Release(ctx context.Context, name, owner string, now time.Time) (bool, error) {
	if err := db.check(); err != nil {
		return false, err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE `+db.leases+` SET owner = '', expires = NULL
WHERE name = $1 AND owner = $2 AND expires > $3`, name, owner, utc(now))
	if err != nil {
		return false, db.mapError(err)
	}
	return tag.RowsAffected() == 1, nil
}

// Lease returns the stored lease, held or not, and whether it exists.
func (db *DB) Lease(ctx context.Context, name string) (lockdriver.Lease, bool, error) {
	if err := db.check(); err != nil {
		return lockdriver.Lease{}, false, err
	}
	le := lockdriver.Lease{Name: name}
	var expires *time.Time
	err := db.pool.QueryRow(ctx, `SELECT owner, token, expires FROM `+db.leases+` WHERE name = $1`, name).
		Scan(&le.Owner, &le.Token, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return lockdriver.Lease{}, false, nil
	}
	if err != nil {
		return lockdriver.Lease{}, false, db.mapError(err)
	}
	if expires != nil {
		le.Expires = expires.UTC()
	}
	return le, true, nil
}
