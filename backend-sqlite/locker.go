package sqlitekv

import (
	"context"
	"database/sql"
	"errors"
	"time"

	lockdriver "github.com/kvsuite/kv/kvlock/driver"
)

// Acquire grants the lease name to owner until now+ttl if it is free (no
// row, released or expired) or already held by owner (an extension, keeping
// the token and acquisition time); see kvlock/driver.Locker. It runs in the
// writer, atomically.
func (db *DB) Acquire(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (lockdriver.Lease, bool, error) {
	if err := db.writable(ctx); err != nil {
		return lockdriver.Lease{}, false, err
	}
	var le lockdriver.Lease
	var granted bool
	err := db.submit(ctx, func(w *wtx) error {
		nowU := now.UnixMicro()
		cur, found, err := readLease(w.ctx, w.tx, name)
		if err != nil {
			return err
		}
		held := found && cur.Owner != "" && cur.Expires.UnixMicro() > nowU
		if held && cur.Owner != owner {
			le, granted = cur, false
			return nil
		}
		le = lockdriver.Lease{Name: name, Owner: owner, Token: cur.Token, Acquired: cur.Acquired,
			Expires: now.Add(ttl).UTC().Truncate(time.Microsecond)}
		if !held { // a new hand-over: free, released or expired
			le.Token++
			le.Acquired = now.UTC().Truncate(time.Microsecond)
		}
		if _, err := w.tx.ExecContext(w.ctx, `INSERT INTO leases (name, owner, token, expires, acquired) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, token = excluded.token, expires = excluded.expires, acquired = excluded.acquired`,
			name, owner, le.Token, le.Expires.UnixMicro(), micros(le.Acquired)); err != nil {
			return err
		}
		granted = true
		return nil
	})
	if err != nil {
		return lockdriver.Lease{}, false, db.dbError("acquire lease", err)
	}
	return le, granted, nil
}

// Release frees the lease if owner holds it at now, keeping its row and
// token, and reports whether it did.
func (db *DB) Release(ctx context.Context, name, owner string, now time.Time) (bool, error) {
	if err := db.writable(ctx); err != nil {
		return false, err
	}
	var released bool
	err := db.submit(ctx, func(w *wtx) error {
		r, err := w.tx.ExecContext(w.ctx, `UPDATE leases SET owner = '', expires = NULL, acquired = NULL
WHERE name = ? AND owner = ? AND owner != '' AND expires > ?`, name, owner, now.UnixMicro())
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		released = n == 1
		return err
	})
	if err != nil {
		return false, db.dbError("release lease", err)
	}
	return released, nil
}

// Lease returns the stored lease, held or not, and whether it exists.
func (db *DB) Lease(ctx context.Context, name string) (lockdriver.Lease, bool, error) {
	if err := db.usable(ctx); err != nil {
		return lockdriver.Lease{}, false, err
	}
	le, ok, err := readLease(ctx, db.rdb, name)
	if err != nil {
		return lockdriver.Lease{}, false, db.dbError("lease", err)
	}
	return le, ok, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// leaseColumns are the columns scanLease reads.
const leaseColumns = "name, owner, token, expires, acquired"

// scanLease reads a row of leaseColumns; a NULL time is the zero time.
func scanLease(sc interface{ Scan(...any) error }) (lockdriver.Lease, error) {
	var le lockdriver.Lease
	var expires, acquired sql.NullInt64
	if err := sc.Scan(&le.Name, &le.Owner, &le.Token, &expires, &acquired); err != nil {
		return le, err
	}
	le.Expires, le.Acquired = fromNullMicros(expires), fromNullMicros(acquired)
	return le, nil
}

func readLease(ctx context.Context, q queryRower, name string) (lockdriver.Lease, bool, error) {
	le, err := scanLease(q.QueryRowContext(ctx, "SELECT "+leaseColumns+" FROM leases WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return lockdriver.Lease{Name: name}, false, nil
	}
	if err != nil {
		return lockdriver.Lease{Name: name}, false, err
	}
	return le, true, nil
}
