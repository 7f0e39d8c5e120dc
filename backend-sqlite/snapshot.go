package sqlitekv

import (
	"context"
	"database/sql"
	"net/url"
	"time"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

var _ coredriver.Snapshotter = (*DB)(nil)

// Snapshot runs fn on one reader connection inside one read transaction:
// BEGIN, a first read (the stream's position), fn's reads, ROLLBACK. In WAL
// mode a read transaction sees the database as of its first read whatever
// the writer commits meanwhile, and the one writer commits in seq order, so
// the position is exact. An in-memory database has one connection, shared
// by the writer and the readers, which a snapshot must not hold: writes
// would wait until fn returned, and one made inside fn would wait forever.
// Its snapshot reads a copy instead (see snapshotCopy), so writes go on
// while fn runs, from fn too.
func (db *DB) Snapshot(ctx context.Context, fn func(coredriver.Reader) error) error {
	if err := db.usable(ctx); err != nil {
		return err
	}
	if db.t.memory() {
		return db.snapshotCopy(ctx, fn)
	}
	c, err := db.rdb.Conn(ctx)
	if err != nil {
		return db.dbError("snapshot", err)
	}
	defer c.Close()
	return db.snapshotOn(ctx, c, fn)
}

// snapshotCopy runs fn on a copy of an in-memory database: a private
// in-memory database that VACUUM INTO fills on the one connection, where
// no write runs meanwhile. The copy costs time and memory in proportion to
// the database, and is gone when fn returns.
func (db *DB) snapshotCopy(ctx context.Context, fn func(coredriver.Reader) error) error {
	name, err := memoryName("kvsnap")
	if err != nil {
		return db.dbError("snapshot", err)
	}
	p := url.Values{"cache": {"shared"}}
	copyDB, err := openPool(uri(name, modeMemory, p), 1)
	if err != nil {
		return db.dbError("snapshot", err)
	}
	defer copyDB.Close()
	// This connection keeps the copy alive from before VACUUM INTO fills
	// it until fn has returned.
	c, err := copyDB.Conn(ctx)
	if err != nil {
		return db.dbError("snapshot", err)
	}
	defer c.Close()
	if _, err := db.wdb.ExecContext(ctx, "VACUUM INTO ?", uri(name, modeMemory, p)); err != nil {
		return db.dbError("snapshot", err)
	}
	return db.snapshotOn(ctx, c, fn)
}

// snapshotOn runs fn in a read transaction on c.
func (db *DB) snapshotOn(ctx context.Context, c *sql.Conn, fn func(coredriver.Reader) error) error {
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		return db.dbError("snapshot", err)
	}
	// The connection goes back to the pool only once the transaction has
	// ended, whatever ctx says.
	defer func() { _, _ = c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") }()
	r := &snapshotReader{db: db, c: c}
	var trimmed int64
	if err := c.QueryRowContext(ctx, qBounds).Scan(&trimmed, &r.seq); err != nil {
		return db.dbError("snapshot", err)
	}
	return fn(r)
}

// snapshotReader reads in the transaction of Snapshot.
type snapshotReader struct {
	db  *DB
	c   *sql.Conn
	seq int64
}

func (r *snapshotReader) Query(ctx context.Context, sel coredriver.Selector, now time.Time) ([]coredriver.Record, error) {
	q, args := rangeQuery(sel, now.UnixMicro())
	out, err := queryRecordsOn(ctx, r.c, sel.Namespace, q, args, false)
	if err != nil {
		return nil, r.db.dbError("snapshot query", err)
	}
	return out, nil
}

func (r *snapshotReader) Namespaces(ctx context.Context, now time.Time) ([]string, error) {
	out, err := scanNamespaces(r.c.QueryContext(ctx, sqlitedialect.Namespaces, now.UnixMicro()))
	if err != nil {
		return nil, r.db.dbError("snapshot namespaces", err)
	}
	return out, nil
}

func (r *snapshotReader) StreamSeq(context.Context) (int64, bool, error) { return r.seq, true, nil }
