// Package sqlitekv is kv's SQLite backend, on modernc.org/sqlite (pure Go,
// no cgo). A *DB implements the SPIs of kvcore (driver.Store), kvlock
// (Locker), kvstream (Stream and Notifier) and kvtask (Queue and Notifier);
// DB.Store returns the user-facing kvcore.Store over it.
//
// The database runs in WAL mode with one writer connection and a pool of
// query-only reader connections. All writes of the process go through the
// single writer, which coalesces concurrent write requests into shared
// transactions (group commit), and the group pays for one COMMIT (one fsync
// with synchronous=FULL). One caller's failure never fails another's: a
// request runs inside its own SAVEPOINT, except that a group of plain
// writes (Apply batches) runs without them and, in the rare case that one
// batch fails after it has written, runs again with them. The writer runs
// its statements through the connection's own prepared driver statements. Because only one
// connection writes, no caller in the process ever sees "database is
// locked".
package sqlitekv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvcore/driver/signal"
)

// ErrReadOnly is returned by writes (and by Init on a database that needs
// migrating) when the database was opened with mode=ro.
var ErrReadOnly = errors.New("sqlitekv: database opened read-only (mode=ro)")

// ErrNotCreated is returned by Open WithMustExist when the file does not
// exist and the connection string would have created it (mode=rwc, or no
// mode). It wraps fs.ErrNotExist.
var ErrNotCreated = fmt.Errorf("%w, and WithMustExist does not create it", fs.ErrNotExist)

// DB is a kv store in one SQLite database. It implements the kvcore,
// kvlock, kvstream and kvtask driver interfaces and is safe for concurrent
// use.
// Close it when done.
type DB struct {
	t        target
	opts     options
	name     string  // what error messages call the database: its path, or "memory"
	wdb      *sql.DB // the one writer connection; nil when read-only
	rdb      *sql.DB // the readers (the writer's pool in memory mode)
	keeper   *sql.DB // memory mode: a connection that keeps the database alive
	readOnly bool

	reqs      chan *request // unbuffered: a send succeeds only when the writer takes it
	closing   chan struct{} // closed by stopWriter
	stopOnce  sync.Once
	writerWG  sync.WaitGroup
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	ready atomic.Bool // the schema is known to be current

	groups, grouped atomic.Int64 // transactions the writer ran, and the requests they held

	notify     signal.Hub // Subscribe's channels, signalled after each commit
	taskNotify signal.Hub // SubscribeTasks' channels, signalled after commits that make tasks claimable

	rmu    sync.Mutex
	rstmts map[string]*sql.Stmt // prepared reader statements by SQL text
}

// Open opens (and with mode=rwc creates) the database that dsn names:
//
//	data.db                     a file, created if missing
//	file:data.db?mode=rwc       the same as a SQLite URI (the CLI's default)
//	file:data.db?mode=rw        an existing file, read-write
//	file:data.db?mode=ro        an existing file, read-only (writes fail with ErrReadOnly)
//	:memory: or file::memory:   a private in-memory database (see OpenMemory)
//
// Other URI parameters are passed on to modernc.org/sqlite (for example
// _pragma=cache_size(-20000)); the ones the backend sets itself (journal mode,
// synchronous, busy timeout, transaction locking, query_only, cache) are
// refused. Open does not create or migrate the schema: call Init.
func Open(dsn string, opts ...Option) (*DB, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	t, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if o.mustExist && t.mode == modeRWC {
		t.mode, t.mustExist = modeRW, true
	}
	return open(t, o)
}

// ReadOnly reports whether db was opened read-only (mode=ro): its writes
// fail with ErrReadOnly.
func (db *DB) ReadOnly() bool { return db.readOnly }

// InMemory reports whether db is an in-memory database, private to this
// process and gone at Close.
func (db *DB) InMemory() bool { return db.t.memory() }

// OpenMemory opens a new, private in-memory database. It lives until Close;
// nothing is shared with any other DB. One connection serves both the
// writer and the readers (WithReaders is ignored).
func OpenMemory(opts ...Option) (*DB, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	return open(target{mode: modeMemory}, o)
}

func buildOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return o, optionError("nil option")
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

func open(t target, o options) (*DB, error) {
	db := &DB{
		t:       t,
		opts:    o,
		reqs:    make(chan *request),
		closing: make(chan struct{}),
		rstmts:  map[string]*sql.Stmt{},
	}
	var err error
	if t.memory() {
		err = db.openMemory()
	} else {
		err = db.openFile()
	}
	if err != nil {
		db.closeHandles()
		return nil, err
	}
	if !db.readOnly {
		db.writerWG.Add(1)
		go db.writeLoop()
	}
	return db, nil
}

func (db *DB) openFile() error {
	t, o := db.t, db.opts
	db.name = t.path
	switch t.mode {
	case modeRO, modeRW:
		if _, err := os.Stat(t.path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				if t.mustExist {
					return fmt.Errorf("sqlitekv: database file %q: %w", t.path, ErrNotCreated)
				}
				return fmt.Errorf("sqlitekv: database file %q does not exist (mode=%s opens an existing file; mode=rwc creates it): %w", t.path, t.mode, fs.ErrNotExist)
			}
			return fmt.Errorf("sqlitekv: database file %q: %w", t.path, errors.Unwrap(err))
		}
	default:
		dir := filepath.Dir(t.path)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("sqlitekv: cannot create database file %q: directory %q does not exist: %w", t.path, dir, fs.ErrNotExist)
		}
	}
	busy := strconv.FormatInt(o.busyTimeout.Milliseconds(), 10)
	readMode := modeRW
	if t.mode == modeRO {
		db.readOnly = true
		readMode = modeRO
	} else {
		wp := cloneParams(t.params)
		wp.Set("_busy_timeout", busy)
		wp.Set("_journal_mode", "WAL")
		wp.Set("_synchronous", o.sync.String())
		wp.Set("_txlock", "immediate")
		wdb, err := openRetry(uri(t.path, t.mode, wp), 1, o.busyTimeout, func(wdb *sql.DB) error {
			var jm string
			if err := wdb.QueryRow("PRAGMA journal_mode").Scan(&jm); err != nil {
				return err
			}
			if !strings.EqualFold(jm, "wal") {
				return fmt.Errorf("could not switch to WAL mode (journal_mode is %s)", jm)
			}
			return nil
		})
		if err != nil {
			return db.openError(err)
		}
		db.wdb = wdb
	}
	rp := cloneParams(t.params)
	rp.Set("_busy_timeout", busy)
	rp.Set("_query_only", "1")
	rdb, err := openRetry(uri(t.path, readMode, rp), o.readers, o.busyTimeout, nil)
	if err != nil {
		return db.openError(err)
	}
	db.rdb = rdb
	return nil
}

// openRetry opens a pool of n connections to dsn, connects one and runs
// check (if not nil) on the pool. While that fails with SQLITE_BUSY it
// tries again, for up to busyTimeout: SQLite reports SQLITE_BUSY without
// waiting where waiting could deadlock, as when several connections open a
// new database at once and each switches it to WAL mode, so the busy
// timeout alone does not cover opening.
func openRetry(dsn string, n int, busyTimeout time.Duration, check func(*sql.DB) error) (*sql.DB, error) {
	deadline := time.Now().Add(busyTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		p, err := openPool(dsn, n)
		if err != nil {
			return nil, err
		}
		err = p.Ping()
		if err == nil && check != nil {
			err = check(p)
		}
		if err == nil {
			return p, nil
		}
		_ = p.Close()
		if !isBusy(err) || time.Now().Add(wait).After(deadline) {
			return nil, err
		}
		time.Sleep(wait)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (with any extended
// code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

func (db *DB) openMemory() error {
	name, err := memoryName("kvmem")
	if err != nil {
		return err
	}
	db.name = "memory"
	p := cloneParams(db.t.params)
	p.Set("cache", "shared")
	p.Set("_busy_timeout", strconv.FormatInt(db.opts.busyTimeout.Milliseconds(), 10))
	keeper, err := openPool(uri(name, modeMemory, p), 1)
	if err != nil {
		return db.openError(err)
	}
	db.keeper = keeper
	if err := keeper.PingContext(context.Background()); err != nil {
		return db.openError(err)
	}
	p.Set("_txlock", "immediate")
	wdb, err := openPool(uri(name, modeMemory, p), 1)
	if err != nil {
		return db.openError(err)
	}
	db.wdb, db.rdb = wdb, wdb
	if err := wdb.PingContext(context.Background()); err != nil {
		return db.openError(err)
	}
	return nil
}

// memoryName returns a new name, prefix-<random>, for a private in-memory
// database.
func memoryName(prefix string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("sqlitekv: in-memory database name: %w", err)
	}
	return prefix + "-" + hex.EncodeToString(b[:]), nil
}

func cloneParams(p url.Values) url.Values {
	out := url.Values{}
	for k, v := range p {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func (db *DB) openError(err error) error {
	return fmt.Errorf("sqlitekv: open %q: %w", db.name, err)
}

// Store returns a kvcore.Store over db: kvcore.New(db, opts...).
func (db *DB) Store(opts ...kvcore.Option) (*kvcore.Store, error) {
	return kvcore.New(db, opts...)
}

// Close stops the writer and closes every connection. Write requests that
// are still waiting get driver.ErrClosed; a group already running finishes.
// Close is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.closed.Store(true)
		db.stopWriter()
		db.notify.Close()
		db.taskNotify.Close()
		db.closeErr = db.closeHandles()
	})
	return db.closeErr
}

// stopWriter makes the writer return after its current group and waits
// for it; requests still waiting get driver.ErrClosed.
func (db *DB) stopWriter() {
	db.stopOnce.Do(func() { close(db.closing) })
	db.writerWG.Wait()
}

func (db *DB) closeHandles() error {
	var errs []error
	db.rmu.Lock()
	for _, s := range db.rstmts {
		errs = append(errs, s.Close())
	}
	db.rstmts = map[string]*sql.Stmt{}
	db.rmu.Unlock()
	if db.rdb != nil && db.rdb != db.wdb {
		errs = append(errs, db.rdb.Close())
	}
	if db.wdb != nil {
		errs = append(errs, db.wdb.Close())
	}
	if db.keeper != nil {
		errs = append(errs, db.keeper.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlitekv: close: %w", err)
	}
	return nil
}

// usable reports ErrClosed after Close and ErrNotInitialized until the
// schema is known to be current (checked once, then remembered).
func (db *DB) usable(ctx context.Context) error {
	if db.closed.Load() {
		return driver.ErrClosed
	}
	if db.ready.Load() {
		return nil
	}
	v, err := db.schemaVersion(ctx)
	if err != nil {
		return err
	}
	if v < latestVersion() {
		return fmt.Errorf("sqlitekv: %w: schema version %d, this driver needs %d", driver.ErrNotInitialized, v, latestVersion())
	}
	db.ready.Store(true)
	return nil
}

// writable is the check every write starts with: ErrReadOnly on a
// database opened with mode=ro, then usable.
func (db *DB) writable(ctx context.Context) error {
	if db.readOnly {
		return ErrReadOnly
	}
	return db.usable(ctx)
}

// dbError turns an error from database/sql or SQLite into the driver's
// error values where one applies, and names the operation.
func (db *DB) dbError(op string, err error) error {
	if err == nil {
		return nil
	}
	var oe *driver.OpError
	switch {
	case errors.As(err, &oe), errors.Is(err, driver.ErrVersionMismatch), errors.Is(err, driver.ErrFenced),
		errors.Is(err, driver.ErrClosed), errors.Is(err, driver.ErrNotInitialized), errors.Is(err, ErrReadOnly),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case db.closed.Load() && (errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed")):
		return driver.ErrClosed
	case strings.Contains(err.Error(), "no such table"):
		return fmt.Errorf("sqlitekv: %s: %w (%v)", op, driver.ErrNotInitialized, err)
	}
	return fmt.Errorf("sqlitekv: %s: %w", op, err)
}
