package rqlitekv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rqlite/gorqlite"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvcore/driver/signal"
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

// Option configures Open. Options override the connection string.
type Option func(*config) error

type config struct {
	scheme         string
	hosts          []string // host:port of each node named, in order
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
// or off. With it off, every request goes to a node of the connection
// string (which forwards writes to the leader): the first, then the next
// one after a request to it failed.
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
// a connection for (default 15s, or the connection string's leaderWait;
// 0 never retries).
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
	redacted  string     // the connection string without the password
	log       requestLog // recorded requests (recorded.go)
	closed    atomic.Bool
	applies   chan *pending // to the sender (see group.go)
	closing   chan struct{} // closed by Close: the sender stops
	sendAlone bool          // tests only: each Apply its own request (to measure what sharing buys)

	notify     signal.Hub // Subscribe's channels, signalled after writes that append to the stream
	taskNotify signal.Hub // SubscribeTasks' channels, signalled after writes that may make tasks claimable
}

var _ driver.Store = (*DB)(nil)

// Open connects to rqlite. connString is an http or https URL of one node,
// or of several nodes of a cluster separated by commas:
//
//	http://localhost:4001
//	http://localhost:4001?user=admin&password=secret
//	https://admin:secret@db.example.com:4001?level=linearizable
//	http://h1:4001,h2:4001,h3:4001
//
// Credentials go in the URL's user info or in the user and password
// parameters (the same for every node). Other parameters: level (none,
// weak, linearizable, strong), disableClusterDiscovery (true or false) and
// timeout (a Go duration such as 5s, or whole seconds). A missing port is
// 4001. Unknown parameters are an error.
//
// With cluster discovery on (the default) Open asks the first node that
// answers, in the order given, for the cluster's members, so it fails only
// if none of the nodes named can be reached; requests then go to the
// leader, and to the other members in turn when it fails. With discovery
// off, requests go to the nodes named, the next one after a failure.
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
	var ring *nodeRing
	if !cfg.discovery && len(cfg.hosts) > 1 {
		ring = &nodeRing{hosts: cfg.hosts}
	}
	client = newClient(client, ring)
	var failed []string
	for _, h := range cfg.hosts {
		conn, err := gorqlite.OpenWithClient(cfg.gorqliteURL(h), client)
		if err == nil {
			db.conn = conn
			break
		}
		failed = append(failed, h+": "+strings.TrimSpace(db.scrub(err.Error())))
	}
	if db.conn == nil {
		return nil, fmt.Errorf("rqlitekv: open %s: no node answered: %s", db.redacted, strings.Join(failed, "; "))
	}
	db.applies, db.closing = make(chan *pending), make(chan struct{})
	go db.sendLoop()
	return db, nil
}

func parseConnString(s string) (config, error) {
	cfg := config{level: DefaultConsistency, discovery: true, timeout: 10 * time.Second, leaderWait: 15 * time.Second}
	s, more := splitHosts(s)
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
	if more != nil && u.Host == "" {
		return cfg, invalidConn("empty host in the list of nodes")
	}
	cfg.hosts = []string{withPort(u.Host)}
	for _, h := range more {
		if h == "" {
			return cfg, invalidConn("empty host in the list of nodes")
		}
		if hu, err := url.Parse("http://" + h); err != nil || hu.Host != h || hu.User != nil {
			return cfg, invalidConn("node %q is not a host or host:port", h)
		}
		h = withPort(h)
		if slices.Contains(cfg.hosts, h) {
			return cfg, invalidConn("node %s named twice", h)
		}
		cfg.hosts = append(cfg.hosts, h)
	}
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
		case "leaderWait":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return cfg, invalidConn("leaderWait=%q is not a duration of 0 or more (such as 5s)", v)
			}
			cfg.leaderWait = d
		default:
			return cfg, invalidConn("unknown parameter %q (known: user, password, level, disableClusterDiscovery, timeout, leaderWait)", k)
		}
	}
	if cfg.password != "" && !cfg.hasUser {
		return cfg, invalidConn("password given without a user")
	}
	return cfg, nil
}

// splitHosts returns s with only the first of the comma-separated hosts
// of its authority, and the other hosts (none if there is one).
func splitHosts(s string) (string, []string) {
	i := strings.Index(s, "://")
	if i < 0 {
		return s, nil
	}
	start := i + 3
	end := len(s)
	if j := strings.IndexAny(s[start:], "/?#"); j >= 0 {
		end = start + j
	}
	auth := s[start:end]
	hostStart := start + strings.LastIndex(auth, "@") + 1
	hosts := strings.Split(s[hostStart:end], ",")
	if len(hosts) == 1 {
		return s, nil
	}
	return s[:hostStart] + hosts[0] + s[end:], hosts[1:]
}

// withPort returns host with rqlite's default port 4001 if it has none
// (localhost:4001 if host is empty).
func withPort(host string) string {
	if host == "" {
		return "localhost:4001"
	}
	if _, port, err := net.SplitHostPort(host); err != nil || port == "" {
		host = strings.TrimSuffix(host, ":")
		host = net.JoinHostPort(strings.Trim(host, "[]"), "4001")
	}
	return host
}

// gorqliteURL is the URL of node host in gorqlite's form: credentials in
// the user info, options as parameters. It holds the password: never
// print it.
func (c config) gorqliteURL(host string) string {
	u := url.URL{Scheme: c.scheme, Host: host, Path: "/"}
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
	u := url.URL{Scheme: c.scheme, Host: strings.Join(c.hosts, ",")}
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
		db.notify.Close()
		db.taskNotify.Close()
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
