package postgreskv

import "context"

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
