package rqlitekv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rqlite/gorqlite"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

// ErrInvalidConnString: the connection string or an option is not
// acceptable. The message says what is wrong; it never holds a password.
// Such errors also wrap kvcore.ErrInvalidArgument.
var ErrInvalidConnString = errors.New("rqlitekv: invalid connection string")

// invalidConn is an error wrapping ErrInvalidConnString and
// kvcore.ErrInvalidArgument.
func invalidConn(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %w", ErrInvalidConnString, fmt.Sprintf(format, args...), kvcore.ErrInvalidArgument)
}

// Consistency is rqlite's read consistency level.
type Consistency string

// The read consistency levels rqlite offers (see the package doc).
const (
	// ConsistencyNone reads the local node's database without any check;
	// reads may be stale.
	ConsistencyNone Consistency = "none"
	// ConsistencyWeak reads on the leader after a local leadership check
	// (rqlite's default, and this driver's).
	ConsistencyWeak Consistency = "weak"
	// ConsistencyLinearizable reads on the leader after confirming its
	// leadership with a quorum (rqlite 8.32 and later; older servers take
	// an unknown level as weak).
	ConsistencyLinearizable Consistency = "linearizable"
	// ConsistencyStrong sends every read through Raft.
	ConsistencyStrong Consistency = "strong"
)

// DefaultConsistency is the read consistency used unless the connection
// string or WithConsistency says otherwise.
const DefaultConsistency = ConsistencyWeak

// ParseConsistency parses a consistency level name (none, weak,
// linearizable or strong; case does not matter).
func ParseConsistency(s string) (Consistency, error) {
	switch c := Consistency(strings.ToLower(strings.TrimSpace(s))); c {
	case ConsistencyNone, ConsistencyWeak, ConsistencyLinearizable, ConsistencyStrong:
		return c, nil
	}
	return "", invalidConn("unknown consistency level %q (want none, weak, linearizable or strong)", s)
}

// Option configures Open. Options override the connection string.
type Option func(*config) error

type config struct {
	scheme, host   string
	user, password string
	hasUser        bool
	level          Consistency
	discovery      bool
	timeout        time.Duration
	leaderWait     time.Duration
	client         *http.Client
}

// WithConsistency sets the read consistency level.
func WithConsistency(c Consistency) Option {
	return func(cfg *config) error {
		lvl, err := ParseConsistency(string(c))
		if err != nil {
			return err
		}
		cfg.level = lvl
		return nil
	}
}

// WithClusterDiscovery turns gorqlite's cluster discovery on (the default)
// or off. With it off, every request goes to the one node of the
// connection string (which forwards writes to the leader).
func WithClusterDiscovery(on bool) Option {
	return func(cfg *config) error { cfg.discovery = on; return nil }
}

// WithTimeout sets the timeout of each HTTP request (default 10s).
func WithTimeout(d time.Duration) Option {
	return func(cfg *config) error {
		if d <= 0 {
			return invalidConn("timeout %v must be positive", d)
		}
		cfg.timeout = d
		return nil
	}
}

// WithLeaderWait sets how long the driver keeps retrying a request that
// the cluster refused because it had no leader, or that no node accepted
// a connection for (default 15s; 0 never retries).
func WithLeaderWait(d time.Duration) Option {
	return func(cfg *config) error {
		if d < 0 {
			return invalidConn("leader wait %v is negative", d)
		}
		cfg.leaderWait = d
		return nil
	}
}

// WithHTTPClient makes the driver send its requests with c (for TLS
// settings, proxies or instrumentation). WithTimeout then does not apply:
// c's own Timeout does. The driver uses a copy of c whose transport it
// wraps (so that a write is never re-sent after an unknown outcome).
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) error {
		if c == nil {
			return invalidConn("nil HTTP client")
		}
		cfg.client = c
		return nil
	}
}

// DB is a connection to an rqlite cluster that implements driver.Store.
// It is safe for concurrent use.
type DB struct {
	conn      *gorqlite.Connection
	cfg       config
	redacted  string // the connection string without the password
	closed    atomic.Bool
	applies   chan *pending // to the sender (see group.go)
	closing   chan struct{} // closed by Close: the sender stops
	sendAlone bool          // tests only: each Apply its own request (to measure what sharing buys)
}

var _ driver.Store = (*DB)(nil)

// Open connects to rqlite. connString is an http or https URL of one node:
//
//	http://localhost:4001
//	http://localhost:4001?user=admin&password=secret
//	https://admin:secret@db.example.com:4001?level=linearizable
//
// Credentials go in the URL's user info or in the user and password
// parameters. Other parameters: level (none, weak, linearizable, strong),
// disableClusterDiscovery (true or false) and timeout (a Go duration such
// as 5s, or whole seconds). A missing port is 4001. Unknown parameters are
// an error.
//
// With cluster discovery on (the default) Open asks the node for the
// cluster's members, so it fails if the node cannot be reached.
func Open(connString string, opts ...Option) (*DB, error) {
	cfg, err := parseConnString(connString)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	db := &DB{cfg: cfg, redacted: cfg.redactedString()}
	client := cfg.client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		client = &http.Client{Timeout: cfg.timeout, Transport: tr}
	}
	conn, err := gorqlite.OpenWithClient(cfg.gorqliteURL(), sendOnceClient(client))
	if err != nil {
		return nil, db.wrapErr("open "+db.redacted, err)
	}
	db.conn = conn
	db.applies, db.closing = make(chan *pending), make(chan struct{})
	go db.sendLoop()
	return db, nil
}

func parseConnString(s string) (config, error) {
	cfg := config{level: DefaultConsistency, discovery: true, timeout: 10 * time.Second, leaderWait: 15 * time.Second}
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the whole string, password included: report
		// only the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return cfg, invalidConn("%v", err)
	}
	switch u.Scheme {
	case "http", "https":
		cfg.scheme = u.Scheme
	case "":
		return cfg, invalidConn("want an http:// or https:// URL such as http://localhost:4001")
	default:
		return cfg, invalidConn("scheme %q is not http or https", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return cfg, invalidConn("want only a host and port (and parameters), not a path")
	}
	host := u.Host
	if host == "" {
		host = "localhost:4001"
	}
	if _, port, err := net.SplitHostPort(host); err != nil || port == "" {
		host = strings.TrimSuffix(host, ":")
		host = net.JoinHostPort(strings.Trim(host, "[]"), "4001")
	}
	cfg.host = host
	if u.User != nil {
		cfg.user, cfg.hasUser = u.User.Username(), true
		cfg.password, _ = u.User.Password()
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return cfg, invalidConn("malformed parameters")
	}
	for k, vs := range q {
		if len(vs) != 1 {
			return cfg, invalidConn("parameter %q given %d times", k, len(vs))
		}
		v := vs[0]
		switch k {
		case "user", "username":
			if cfg.hasUser && cfg.user != v {
				return cfg, invalidConn("user given both in the URL and as a parameter")
			}
			cfg.user, cfg.hasUser = v, true
		case "password":
			cfg.password = v
		case "level", "consistency":
			lvl, err := ParseConsistency(v)
			if err != nil {
				return cfg, err
			}
			cfg.level = lvl
		case "disableClusterDiscovery":
			off, err := strconv.ParseBool(v)
			if err != nil {
				return cfg, invalidConn("disableClusterDiscovery=%q is not true or false", v)
			}
			cfg.discovery = !off
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil {
				n, nerr := strconv.Atoi(v)
				if nerr != nil {
					return cfg, invalidConn("timeout=%q is not a duration (such as 5s)", v)
				}
				d = time.Duration(n) * time.Second
			}
			if d <= 0 {
				return cfg, invalidConn("timeout=%q must be positive", v)
			}
			cfg.timeout = d
		default:
			return cfg, invalidConn("unknown parameter %q (known: user, password, level, disableClusterDiscovery, timeout)", k)
		}
	}
	if cfg.password != "" && !cfg.hasUser {
		return cfg, invalidConn("password given without a user")
	}
	return cfg, nil
}

// gorqliteURL is the URL in gorqlite's form: credentials in the user info,
// options as parameters. It holds the password: never print it.
func (c config) gorqliteURL() string {
	u := url.URL{Scheme: c.scheme, Host: c.host, Path: "/"}
	if c.hasUser {
		u.User = url.UserPassword(c.user, c.password)
	}
	q := url.Values{}
	q.Set("level", string(c.level))
	q.Set("disableClusterDiscovery", strconv.FormatBool(!c.discovery))
	u.RawQuery = q.Encode()
	return u.String()
}

// redactedString describes the connection without its password.
func (c config) redactedString() string {
	u := url.URL{Scheme: c.scheme, Host: c.host}
	q := url.Values{}
	if c.hasUser {
		q.Set("user", c.user)
		if c.password != "" {
			q.Set("password", "xxxxx")
		}
	}
	q.Set("level", string(c.level))
	if !c.discovery {
		q.Set("disableClusterDiscovery", "true")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// String returns the connection string without its password.
func (db *DB) String() string { return db.redacted }

// Consistency returns the read consistency level in use.
func (db *DB) Consistency() Consistency { return db.cfg.level }

// Store returns a kvcore.Store over db with the given options. Closing the
// Store does not close db unless kvcore.WithCloseDriver is among opts.
func (db *DB) Store(opts ...kvcore.Option) (*kvcore.Store, error) {
	return kvcore.New(db, opts...)
}

// Leader returns the API address (host:port) of the cluster's current
// leader, as the connected node reports it.
func (db *DB) Leader(ctx context.Context) (string, error) {
	if err := db.usable(ctx); err != nil {
		return "", err
	}
	l, err := db.conn.Leader()
	if err != nil {
		return "", db.wrapErr("leader", err)
	}
	return l, nil
}

// Close marks the connection closed; later calls return driver.ErrClosed.
// It is safe to call more than once.
func (db *DB) Close() error {
	if db.closed.CompareAndSwap(false, true) {
		close(db.closing)
		db.conn.Close()
	}
	return nil
}

func (db *DB) usable(ctx context.Context) error {
	if db.closed.Load() {
		return driver.ErrClosed
	}
	return ctx.Err()
}
