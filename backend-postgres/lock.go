package postgreskv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	lockdriver "github.com/kvsuite/kv/kvlock/driver"
)

var _ lockdriver.Locker = (*DB)(nil)

// leaseColumns are the columns scanLease reads, after the name.
const leaseColumns = "owner, token, expires, acquired"

// leaseDest returns the destinations of leaseColumns for le; finish fills
// in le's times from them.
func leaseDest(le *lockdriver.Lease) (dest []any, finish func()) {
	var expires, acquired *time.Time
	return []any{&le.Owner, &le.Token, &expires, &acquired}, func() {
		le.Expires, le.Acquired = utcOrZero(expires), utcOrZero(acquired)
	}
}

// utcOrZero is t in UTC, or the zero time for NULL.
func utcOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// acquireAttempts bounds how often Acquire runs its statement when the row
// that refused it, as the statement's snapshot shows it, is not held by
// another owner (see Acquire).
const acquireAttempts = 20

// Acquire grants the lease name to owner until now+ttl if it is free (no
// row, released, or expired at now) or already held by owner (an
// extension, which keeps the token and the acquisition time); see
// kvlock/driver.Locker. It is one statement: the upsert locks the lease
// row, so two owners never both win.
//
// A refused upsert reports the holder from a second SELECT, which reads
// the statement's snapshot. If the row changed hands while the upsert
// waited for its lock, that snapshot holds an older row: none at all, a
// released lease (no owner, no expiry), an expired one or the caller's
// own. Such a refusal names no holder, so the statement runs again (with
// a new snapshot: it may then be granted), up to acquireAttempts times in
// all; if the lease changed hands every time, the error wraps
// lockdriver.ErrChangedHands.
func (db *DB) Acquire(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (lockdriver.Lease, bool, error) {
	if err := db.check(); err != nil {
		return lockdriver.Lease{}, false, err
	}
	now = utc(now)
	sql := `WITH up AS (
	INSERT INTO ` + db.leases + ` AS l (name, owner, token, expires, acquired) VALUES ($1, $2, 1, $4, $3)
	ON CONFLICT (name) DO UPDATE SET
	token = CASE WHEN l.owner = EXCLUDED.owner AND l.expires > $3 THEN l.token ELSE l.token + 1 END,
	acquired = CASE WHEN l.owner = EXCLUDED.owner AND l.expires > $3 THEN l.acquired ELSE EXCLUDED.acquired END,
	owner = EXCLUDED.owner, expires = EXCLUDED.expires
	WHERE l.owner = EXCLUDED.owner OR l.owner = '' OR l.expires IS NULL OR l.expires <= $3
	RETURNING ` + leaseColumns + `)
SELECT ` + leaseColumns + `, true FROM up
UNION ALL
SELECT ` + leaseColumns + `, false FROM ` + db.leases + ` WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM up)`
	for attempt := 1; ; attempt++ {
		le := lockdriver.Lease{Name: name}
		var ok bool
		dest, finish := leaseDest(&le)
		err := retryTx(ctx, func() error {
			return db.pool.QueryRow(ctx, sql, name, owner, now, now.Add(ttl)).Scan(append(dest, &ok)...)
		})
		finish()
		stale := errors.Is(err, pgx.ErrNoRows) || err == nil && !ok && (le.Owner == "" || le.Owner == owner || !le.Expires.After(now))
		switch {
		case stale && attempt < acquireAttempts:
			continue
		case stale:
			return lockdriver.Lease{}, false, fmt.Errorf("postgreskv: acquire lease %q: %w (%d attempts)", name, lockdriver.ErrChangedHands, attempt)
		case err != nil:
			return lockdriver.Lease{}, false, db.mapError(err)
		}
		return le, ok, nil
	}
}

// Release frees the lease if owner holds it at now, clearing its owner,
// expiry and acquisition time and keeping its token, and reports whether
// it did.
func (db *DB) Release(ctx context.Context, name, owner string, now time.Time) (bool, error) {
	if err := db.check(); err != nil {
		return false, err
	}
	tag, err := db.exec(ctx, `UPDATE `+db.leases+` SET owner = '', expires = NULL, acquired = NULL
WHERE name = $1 AND owner = $2 AND expires > $3`, name, owner, utc(now))
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// Lease returns the stored lease, held or not, and whether it exists.
func (db *DB) Lease(ctx context.Context, name string) (lockdriver.Lease, bool, error) {
	if err := db.check(); err != nil {
		return lockdriver.Lease{}, false, err
	}
	le := lockdriver.Lease{Name: name}
	dest, finish := leaseDest(&le)
	err := db.pool.QueryRow(ctx, `SELECT `+leaseColumns+` FROM `+db.leases+` WHERE name = $1`, name).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return lockdriver.Lease{}, false, nil
	}
	if err != nil {
		return lockdriver.Lease{}, false, db.mapError(err)
	}
	finish()
	return le, true, nil
}
