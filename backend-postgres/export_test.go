package postgreskv

import (
	"context"

	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// Channel returns the NOTIFY channel of db's stream, for the tests.
func Channel(db *DB) string { return db.channel }

// InitVersion migrates db's schema up to version v only, for the tests.
func InitVersion(ctx context.Context, db *DB, v int) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return db.migrate(ctx, conn.Conn(), v)
}

// TaskChannel returns the NOTIFY channel of db's task queue, for the tests.
func TaskChannel(db *DB) string { return db.taskChannel }

// ClaimSQL returns the statement and arguments Claim runs for c.
func ClaimSQL(db *DB, c taskdriver.Claim) (string, []any) {
	sql, a := db.claimSQL(c)
	return sql, a
}
