package rqlitekv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// The rqlite the tests run against, chosen once per run (see TestMain):
//   - KV_TEST_RQLITE_URL, if set: a server someone runs (its tables are
//     dropped before each test that needs an empty store);
//   - else a real rqlited (rqlitetest.RqlitedPath: $KV_RQLITED, PATH, or
//     ../shared/bin/rqlited beside the repository), started here on free
//     loopback ports as a single node in a temporary directory;
//   - else rqlitetest, the project's stand-in, one new server per test,
//     with the reason printed (and a failure instead if
//     KV_REQUIRE_RQLITED=1).
var (
	serverKind string // "env", "rqlited" or "rqlitetest"
	sharedURL  string // for env and rqlited
	rqlitedBin string // rqlited's path, when found
	noRqlited  string // why there is no rqlited ("" if there is)
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	bin, err := rqlitetest.RqlitedPath()
	if err != nil {
		noRqlited = err.Error()
	} else {
		rqlitedBin = bin
	}
	if u := os.Getenv("KV_TEST_RQLITE_URL"); u != "" {
		serverKind, sharedURL = "env", u
		cfg, err := parseConnString(u)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rqlitekv tests: KV_TEST_RQLITE_URL:", err)
			return 2
		}
		fmt.Printf("rqlitekv tests: using the rqlite server of KV_TEST_RQLITE_URL (%s)\n", cfg.redactedString())
		return m.Run()
	}
	if rqlitedBin != "" {
		dir, err := os.MkdirTemp("", "rqlitekv-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "rqlitekv tests:", err)
			return 2
		}
		defer os.RemoveAll(dir)
		n, err := rqlitetest.StartNode(rqlitedBin, dir, "node1", "")
		if err != nil {
			fmt.Fprintln(os.Stderr, "rqlitekv tests: starting rqlited:", err)
			return 2
		}
		defer n.Stop()
		serverKind, sharedURL = "rqlited", n.URL()
		fmt.Printf("rqlitekv tests: using a real rqlited (%s) started at %s\n", rqlitedBin, n.URL())
		return m.Run()
	}
	if os.Getenv("KV_REQUIRE_RQLITED") == "1" {
		fmt.Fprintln(os.Stderr, "FAIL: KV_REQUIRE_RQLITED=1 but", noRqlited)
		return 1
	}
	serverKind = "rqlitetest"
	fmt.Printf("rqlitekv tests: %s: using rqlitetest, the in-process STAND-IN for rqlite (not a real rqlite)\n", noRqlited)
	return m.Run()
}

// serverURL returns the URL of an rqlite whose database the caller may
// use: a fresh rqlitetest server, or the shared real server.
func serverURL(t testing.TB) string {
	t.Helper()
	if serverKind == "rqlitetest" {
		return rqlitetest.Start(t).URL
	}
	return sharedURL
}

// openEmpty opens a DB on an empty, initialised database: a new rqlitetest
// server, or the shared real server with every table of the schema dropped
// first.
func openEmpty(t testing.TB, opts ...Option) *DB {
	t.Helper()
	return openEmptyAt(t, serverURL(t), opts...)
}

// openEmptyAt is openEmpty on the server at u (the chosen server, or a
// front of it).
func openEmptyAt(t testing.TB, u string, opts ...Option) *DB {
	t.Helper()
	db := openUninitialisedAt(t, u, opts...)
	if err := db.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// openUninitialised opens a DB on an empty database on which Init has not
// run: a new rqlitetest server, or the shared real server with every table
// of the schema dropped.
func openUninitialised(t testing.TB) *DB {
	t.Helper()
	return openUninitialisedAt(t, serverURL(t))
}

// openUninitialisedAt is openUninitialised on the server at u.
func openUninitialisedAt(t testing.TB, u string, opts ...Option) *DB {
	t.Helper()
	// Large batches under the race detector can take longer than the
	// default 10s per request.
	opts = append([]Option{WithTimeout(2 * time.Minute)}, opts...)
	db, err := Open(u, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if serverKind != "rqlitetest" {
		dropAll(t, db)
	}
	return db
}

// dropAll drops the schema's view (and so its trigger) and tables in one
// request.
func dropAll(t testing.TB, db *DB) {
	t.Helper()
	stmts := []string{"DROP VIEW IF EXISTS put_op"}
	for _, tbl := range []string{"records", "stream", "leases", "stream_meta", "consumers", "tasks", "schedules", "schema_migrations", "guard", "request_log", "raw_kv"} {
		stmts = append(stmts, "DROP TABLE IF EXISTS "+tbl)
	}
	err := db.retry(context.Background(), false, func() error {
		_, err := db.conn.WriteContext(context.Background(), stmts)
		return err
	})
	if err != nil {
		t.Fatalf("dropping tables: %v", err)
	}
}

// requestCounter counts the HTTP requests a DB sends, by endpoint, and the
// connections it opens: it sees them in the DB's own HTTP client, so it
// counts the same on rqlitetest and on a real rqlited.
type requestCounter struct {
	mu                      sync.Mutex
	request, query, execute int64 // /db/request, /db/query, /db/execute
	other                   int64 // /status, /nodes, ...
	dials                   int64 // TCP connections opened
}

// counts is a snapshot of a requestCounter's request counts.
type counts struct{ request, query, execute int64 }

// get returns the request counts so far.
func (c *requestCounter) get() counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return counts{c.request, c.query, c.execute}
}

// conns returns how many connections were opened so far.
func (c *requestCounter) conns() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dials
}

// client returns an HTTP client (with timeout d) that counts into c.
func (c *requestCounter) client(d time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err == nil {
			c.mu.Lock()
			c.dials++
			c.mu.Unlock()
		}
		return conn, err
	}
	return &http.Client{Timeout: d, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		c.mu.Lock()
		switch r.URL.Path {
		case "/db/request":
			c.request++
		case "/db/query":
			c.query++
		case "/db/execute":
			c.execute++
		default:
			c.other++
		}
		c.mu.Unlock()
		return tr.RoundTrip(r)
	})}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// openCounted opens an empty, initialised DB on the chosen server whose
// requests are counted.
func openCounted(t testing.TB, opts ...Option) (*DB, *requestCounter) {
	t.Helper()
	c := &requestCounter{}
	opts = append([]Option{WithHTTPClient(c.client(2 * time.Minute))}, opts...)
	return openEmptyAt(t, serverURL(t), opts...), c
}

// front starts an HTTP server in front of the rqlite at target that passes
// every request to it through handle, which may answer by itself (to
// inject a fault) or call next. It is stopped when t ends.
func front(t testing.TB, target string, handle func(w http.ResponseWriter, r *http.Request, next http.Handler)) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	next := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, next)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// applyThenDrop serves r through next, so that rqlite applies it, then
// breaks the client's connection without an answer: the client cannot
// tell whether its request was applied (a node that crashed after
// committing a write, before answering).
func applyThenDrop(w http.ResponseWriter, r *http.Request, next http.Handler) {
	next.ServeHTTP(httptest.NewRecorder(), r)
	if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
		conn.Close()
	}
}

// isWrite reports whether r is a write request of the driver.
func isWrite(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/db/request") || strings.HasPrefix(r.URL.Path, "/db/execute")
}

// authServer returns the URL of an rqlite that requires HTTP basic auth
// with user and password: a real rqlited of its own when one was found,
// else a new rqlitetest server.
func authServer(t testing.TB, user, password string) string {
	t.Helper()
	return rqlitetest.NewAuthURL(t, user, password)
}
