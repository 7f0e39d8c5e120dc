package postgreskv

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

// DB is a kv store in a PostgreSQL database. It implements driver.Store and
// is safe for concurrent use.
type DB struct {
	pool     *pgxpool.Pool
	ownsPool bool
	schema   string // "" means the connection's search_path
	lockKey  int64  // advisory lock key for migrations
	bad      error  // an invalid option or nil pool given to New
	closed   atomic.Bool
	close    sync.Once

	seqKey      int64  // advisory lock key for the stream's sequencer
	channel     string // the NOTIFY channel of this schema's stream
	taskChannel string // the NOTIFY channel of this schema's task queue
	q           func(name string) string

	// Schema-qualified, quoted table and function names.
	records, stream, leases, migrations, fail string
	streamMeta, consumers, sequence           string
	tasks, schedules                          string

	notify     bool // writers send the stream's notification
	taskNotify bool // task writes send the queue's notification

	lmu      sync.Mutex
	listener *listener // the shared LISTEN connection, nil if none

	notifier notifier // sends the notifications of committed writes

	get     string // the statement of a single-key read (see getOne)
	putMany string // the statement of a group's plain puts (see putManyStatement)

	maxCommitters int        // groups committed at once; 0: no group commit
	group         committers // the group commit's queue

	steps stepper // sequencer steps shared by concurrent reads (steps.go)
}

var _ driver.Store = (*DB)(nil)

// Option configures Open and New.
type Option func(*config) error

type config struct {
	schema        string
	noNotify      bool
	noTaskNotify  bool
	noGroupCommit bool
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// WithSchema puts kv's tables in the PostgreSQL schema name (created by Init
// if it does not exist) instead of the first schema of the connection's
// search_path. name must be a plain identifier: a letter or underscore, then
// letters, digits or underscores, at most 63 bytes in all.
func WithSchema(name string) Option {
	return func(c *config) error {
		if !identRE.MatchString(name) {
			return fmt.Errorf("postgreskv: invalid schema name %q: want a letter or underscore, then letters, digits or underscores (at most 63)", name)
		}
		c.schema = name
		return nil
	}
}

// WithoutNotify stops writes from sending the stream's notification. With
// it (the default), the DB sends pg_notify after writes commit, from a
// goroutine of its own and at most once every few milliseconds (see
// notifier.go), so that continuous consumers (see Subscribe) in any process
// wake promptly. Without it, they wake only by polling, unless another
// process notifies.
func WithoutNotify() Option {
	return func(c *config) error {
		c.noNotify = true
		return nil
	}
}

// WithoutTaskNotify stops task writes (Insert, Fire, and Finish with a
// retry) from sending the task queue's notification; runners then find new
// tasks only by polling.
func WithoutTaskNotify() Option {
	return func(c *config) error {
		c.noTaskNotify = true
		return nil
	}
}

// Open connects to the PostgreSQL database that connString names (a URL such
// as postgres://user:password@host:5432/db?sslmode=disable or key=value
// pairs; see pgxpool.ParseConfig for pool settings such as pool_max_conns)
// and checks that it answers. It does not create or migrate the schema: call
// Init for that. Errors never contain the connection string's password.
func Open(ctx context.Context, connString string, opts ...Option) (*DB, error) {
	c, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// pgx's ParseConfigError keeps the whole string (password and
		// all) in a field, and its message quotes the string with a
		// best-effort redaction: keep only what follows the quote, and
		// its cause.
		var pce *pgconn.ParseConfigError
		if errors.As(err, &pce) {
			msg := pce.Error()
			if i := strings.LastIndex(msg, "`: "); i >= 0 {
				msg = msg[i+3:]
			}
			err = &parseError{msg: msg, cause: pce.Unwrap()}
		}
		return nil, redactError("postgreskv: invalid connection string", err, connString, "")
	}
	password := pcfg.ConnConfig.Password
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, redactError("postgreskv: open", err, connString, password)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, redactError(fmt.Sprintf("postgreskv: cannot reach database %q on %s", pcfg.ConnConfig.Database, hostPort(pcfg)), err, connString, password)
	}
	db := newDB(pool, c)
	db.ownsPool = true
	return db, nil
}

// New returns a DB over a pool that the caller owns: Close does not close it.
// It does not create or migrate the schema: call Init for that.
// If an option is invalid or pool is nil, every method of the DB returns
// that error.
func New(pool *pgxpool.Pool, opts ...Option) *DB {
	c, err := buildConfig(opts)
	db := newDB(pool, c)
	if err == nil && pool == nil {
		err = errors.New("postgreskv: nil pool")
	}
	if err != nil {
		db.bad = err
	}
	return db
}

// buildConfig applies opts (nil ones skipped) to a zero config.
func buildConfig(opts []Option) (config, error) {
	var c config
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// newDB returns a DB over pool configured by c.
func newDB(pool *pgxpool.Pool, c config) *DB {
	q := func(name string) string {
		if c.schema == "" {
			return pgx.Identifier{name}.Sanitize()
		}
		return pgx.Identifier{c.schema, name}.Sanitize()
	}
	committers := 0
	if !c.noGroupCommit {
		committers = 1
		if pool != nil {
			committers = min(max(1, int(pool.Config().MaxConns)/2), committersCap)
		}
	}
	records := q("kv_records")
	db := &DB{
		maxCommitters: committers,
		pool:          pool,
		schema:        c.schema,
		lockKey:       migrationLockKey(c.schema),
		seqKey:        sequencerLockKey(c.schema),
		channel:       channelName("kv_stream", c.schema),
		taskChannel:   channelName("kv_tasks", c.schema),
		q:             q,
		records:       records,
		stream:        q("kv_stream"),
		leases:        q("kv_leases"),
		migrations:    q("kv_schema_migrations"),
		fail:          q(failFunction),
		streamMeta:    q("kv_stream_meta"),
		consumers:     q("kv_consumers"),
		sequence:      q(sequenceFunction),
		tasks:         q("kv_tasks"),
		schedules:     q("kv_schedules"),
		notify:        !c.noNotify,
		taskNotify:    !c.noTaskNotify,
		notifier:      notifier{wake: make(chan struct{}, 1)},
		// getOne's statement selects neither namespace nor key (the
		// caller knows them).
		get: "SELECT version, value, type, created, updated, expires FROM " + records +
			" WHERE namespace = $1 AND key = $2 AND " + live("$3"),
	}
	db.putMany = db.putManyStatement()
	return db
}

// connect opens a connection of the DB's own, outside the pool, from the
// pool's config (the listener's and the notifier's).
func (db *DB) connect(ctx context.Context) (*pgx.Conn, error) {
	return pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig)
}

// closeConn closes conn, waiting at most d for the server to hear it.
func closeConn(conn *pgx.Conn, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_ = conn.Close(ctx)
}

// hostPort names the server of c in messages.
func hostPort(c *pgxpool.Config) string {
	return fmt.Sprintf("%s:%d", c.ConnConfig.Host, c.ConnConfig.Port)
}

// Pool returns the pool the DB uses.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Schema returns the schema given with WithSchema ("" if none).
func (db *DB) Schema() string { return db.schema }

// Store returns a kvcore.Store over db (kvcore.New(db, opts...)). Closing
// the Store closes db only with kvcore.WithCloseDriver.
func (db *DB) Store(opts ...kvcore.Option) (*kvcore.Store, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	return kvcore.New(db, opts...)
}

// Close closes the pool if Open created it; a pool given to New stays open.
// Afterwards every method returns driver.ErrClosed. It is safe to call more
// than once.
func (db *DB) Close() error {
	db.close.Do(func() {
		db.closed.Store(true)
		db.stopListener()
		db.stopNotifier()
		if db.ownsPool && db.pool != nil {
			db.pool.Close()
		}
	})
	return nil
}

// check returns an error if db cannot be used.
func (db *DB) check() error {
	if db.bad != nil {
		return db.bad
	}
	if db.closed.Load() {
		return driver.ErrClosed
	}
	return nil
}
