package rqlitekv

import (
	"context"
	"fmt"
	"time"

	"github.com/rqlite/gorqlite"

	lockdriver "github.com/kvsuite/kv/kvlock/driver"
)

var _ lockdriver.Locker = (*DB)(nil)

// The statements of the Locker. A lease is held while its owner is not empty
// and its expiry (Unix microseconds) is after now; a released lease keeps
// its row and token with an empty owner and expires NULL.
var (
	// sqlAcquire grants the lease in one statement: a new row (token 1),
	// or an update of the row only if it is free (released or expired) or
	// already the owner's. The token grows unless the owner still holds it
	// (an extension). SET expressions read the row as it was before.
	// An extension also keeps the acquisition time; a change of hands
	// sets it to now.
	sqlAcquire = "INSERT INTO leases (name, owner, token, expires, acquired) VALUES (" + textArg + ", " + textArg + ", 1, ?, ?) " +
		"ON CONFLICT (name) DO UPDATE SET " +
		"token = CASE WHEN leases.owner <> '' AND coalesce(leases.expires, 0) > ? THEN leases.token ELSE leases.token + 1 END, " +
		"acquired = CASE WHEN leases.owner <> '' AND coalesce(leases.expires, 0) > ? THEN leases.acquired ELSE excluded.acquired END, " +
		"owner = excluded.owner, expires = excluded.expires " +
		"WHERE leases.owner = excluded.owner OR leases.owner = '' OR coalesce(leases.expires, 0) <= ?"
	// sqlLease reads the lease as it stands (after sqlAcquire, in the same
	// request: the owner is the caller's exactly when it was granted).
	sqlLease = "SELECT " + leaseColumns + " FROM leases WHERE name = " + textArg
	// sqlRelease frees the lease if owner holds it at now.
	sqlRelease = "UPDATE leases SET owner = '', expires = NULL, acquired = NULL WHERE name = " + textArg +
		" AND owner = " + textArg + " AND owner <> '' AND expires > ?"
)

// Acquire grants the lease name to owner until now+ttl if it is free (no
// row, released, or expired at now) or already held by owner (an
// extension, keeping the token); see kvlock/driver.Locker. It is one
// request, one transaction: the conditional upsert, then a read of the row
// that tells the granted lease or, if another owner holds it, the holder's.
func (db *DB) Acquire(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (lockdriver.Lease, bool, error) {
	if err := db.usable(ctx); err != nil {
		return lockdriver.Lease{}, false, err
	}
	n := now.UnixMicro()
	exp := now.Add(ttl).UnixMicro()
	var q batch
	q.add(roleOther, -1, sqlAcquire, txt(name), txt(owner), exp, n, n, n, n)
	q.add(roleOther, -1, sqlLease, txt(name))
	res, err := db.send(ctx, "acquire lease", &q)
	if err != nil {
		return lockdriver.Lease{}, false, err
	}
	le, ok, err := scanLease("acquire lease", name, res[1].Query)
	if err != nil {
		return lockdriver.Lease{}, false, err
	}
	if !ok {
		return lockdriver.Lease{}, false, fmt.Errorf("rqlitekv: acquire lease: no lease row after the upsert")
	}
	return le, le.Owner == owner, nil
}

// Release frees the lease if owner holds it at now (an empty owner and expiry 0,
// keeping the token) and reports whether it did. One statement.
func (db *DB) Release(ctx context.Context, name, owner string, now time.Time) (bool, error) {
	if err := db.usable(ctx); err != nil {
		return false, err
	}
	var q batch
	q.add(roleRows, -1, sqlRelease, txt(name), txt(owner), now.UnixMicro())
	res, err := db.send(ctx, "release lease", &q)
	if err != nil {
		return false, err
	}
	return res[0].Write != nil && res[0].Write.RowsAffected == 1, nil
}

// Lease returns the stored lease, held or not, and whether it exists.
func (db *DB) Lease(ctx context.Context, name string) (lockdriver.Lease, bool, error) {
	if err := db.usable(ctx); err != nil {
		return lockdriver.Lease{}, false, err
	}
	qr, err := db.queryOne(ctx, "lease", gorqlite.ParameterizedStatement{Query: sqlLease, Arguments: []any{txt(name)}})
	if err != nil {
		return lockdriver.Lease{}, false, err
	}
	return scanLease("lease", name, qr)
}

// leaseColumns are the columns leaseRow reads: owner, token, expiry and
// acquisition time (Unix microseconds, 0 for none), the last three as
// text.
const leaseColumns = "owner, CAST(token AS TEXT), CAST(coalesce(expires, 0) AS TEXT), CAST(coalesce(acquired, 0) AS TEXT)"

// leaseColumnCount is the number of leaseColumns.
const leaseColumnCount = 4

// scanLease reads the row of sqlLease, if there is one (if not: the
// lease's name alone and false).
func scanLease(op, name string, qr *gorqlite.QueryResult) (lockdriver.Lease, bool, error) {
	le, ok, err := scanOne(op, qr, leaseColumnCount, func(row []any) (lockdriver.Lease, error) { return leaseRow(name, row) })
	if !ok {
		le = lockdriver.Lease{Name: name}
	}
	return le, ok, err
}

// leaseRow reads the lease name from the columns of leaseColumns. A time
// of 0 (a released lease, an unknown acquisition) is the zero time.
func leaseRow(name string, row []any) (lockdriver.Lease, error) {
	le := lockdriver.Lease{Name: name}
	owner, ok := row[0].(string)
	if !ok {
		return le, fmt.Errorf("lease owner: unexpected %T", row[0])
	}
	le.Owner = owner
	var err error
	if le.Token, err = intCol(row, 1); err != nil {
		return le, fmt.Errorf("lease token: %w", err)
	}
	exp, err := intCol(row, 2)
	if err != nil {
		return le, fmt.Errorf("lease expiry: %w", err)
	}
	if exp != 0 {
		le.Expires = time.UnixMicro(exp).UTC()
	}
	acq, err := intCol(row, 3)
	if err != nil {
		return le, fmt.Errorf("lease acquired: %w", err)
	}
	if acq != 0 {
		le.Acquired = time.UnixMicro(acq).UTC()
	}
	return le, nil
}
