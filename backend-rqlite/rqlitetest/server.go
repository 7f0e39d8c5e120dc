// Package rqlitetest is a stand-in for rqlite in tests: an in-process HTTP
// server that speaks the subset of rqlite's HTTP data API that
// github.com/rqlite/gorqlite (and so package rqlitekv) uses, over an
// in-memory SQLite database (modernc.org/sqlite).
//
// It is NOT rqlite. There is no Raft, no cluster and no durability: it
// exists so that CI can run the rqlite backend's tests where no rqlited
// binary is available. Tests that use it say so in their output, and the
// backend's tests prefer a real server (KV_TEST_RQLITE_URL, or rqlited on
// PATH) when there is one.
//
// What it serves, following rqlite's documented behaviour:
//
//   - POST /db/execute, GET and POST /db/query, POST /db/request, with
//     bodies that are JSON arrays of statements: plain strings, or arrays of
//     the SQL text followed by positional parameters or by one object of
//     named parameters. GET /db/query takes the statement in ?q=.
//   - The transaction flag (?transaction): all statements in one
//     transaction; the first failing statement rolls it back and ends the
//     request, and its result carries "error". Without the flag every
//     statement runs on its own, and an error does not stop the others.
//   - Results as rqlite writes them: "last_insert_id"/"rows_affected" for
//     writes, "columns"/"types"/"values" for reads, "error" for a failed
//     statement, "time" with ?timings. Writes that carry a RETURNING clause
//     come back as rows (as rqlite 8 does). /db/request decides per
//     statement whether it reads or writes, as rqlite does with
//     sqlite3_stmt_readonly (here: from the statement's EXPLAIN program);
//     like rqlite, it reports a statement that cannot be prepared with an
//     error result and goes on, even in a transaction. /db/query refuses
//     writes with rqlite's error text.
//   - Parameters converted as rqlite converts them: integral numbers to
//     INTEGER, other numbers to REAL, a string of the form x'0A1B' to a
//     BLOB, an array of byte values to a BLOB. BLOBs come back base64-encoded.
//   - ?level= (none, weak, linearizable, strong, auto) is accepted and makes
//     no difference: there is one node. ?queue on /db/execute runs the
//     statements at once and answers with a sequence number.
//   - HTTP basic auth when configured (WithBasicAuth): 401 without it.
//   - GET /status and GET /nodes in the shapes gorqlite's cluster discovery
//     reads (this node is the leader, with its own API address), GET /readyz.
//
// Every request is served under one lock on one SQLite connection, like
// rqlite's single writer.
package rqlitetest

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"
)

// errQueryWrite is rqlite's error text for a write sent to /db/query.
const errQueryWrite = "attempt to change database via query operation"

// Option configures a Server.
type Option func(*config)

type config struct {
	user, password string
	auth           bool
}

// WithBasicAuth makes the server require HTTP basic auth with user and
// password on every endpoint, as rqlite does with an auth file.
func WithBasicAuth(user, password string) Option {
	return func(c *config) { c.user, c.password, c.auth = user, password, true }
}

// Stats counts the requests a server has answered, by endpoint.
type Stats struct {
	Execute int64 // POST /db/execute
	Query   int64 // GET or POST /db/query
	Request int64 // POST /db/request
	Status  int64 // GET /status and GET /nodes
	Conns   int64 // TCP connections accepted (so a test can see whether clients reuse them)
}

// Server is a running stand-in rqlite node. Its methods are safe for
// concurrent use.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:port, without
	// credentials.
	URL string

	cfg  config
	hs   *httptest.Server
	db   *sql.DB
	mu   sync.Mutex // serializes every use of conn
	conn *sql.Conn
	seq  atomic.Int64
	ro   map[string]bool // statement text -> read-only, under mu

	nExecute, nQuery, nRequest, nStatus, nConns atomic.Int64
	closeOnce                                   sync.Once
}

// New starts a server on a free port of 127.0.0.1 with an empty database.
// Close stops it.
func New(opts ...Option) (*Server, error) {
	s := &Server{}
	for _, o := range opts {
		if o != nil {
			o(&s.cfg)
		}
	}
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		return nil, fmt.Errorf("rqlitetest: open sqlite: %w", err)
	}
	// One connection that is never given back: the in-memory database
	// lives as long as it does.
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("rqlitetest: open sqlite: %w", err)
	}
	// rqlite enables foreign keys only on request; SQLite's default is off.
	s.db, s.conn = db, conn
	s.hs = httptest.NewUnstartedServer(s)
	s.hs.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.nConns.Add(1)
		}
	}
	s.hs.Start()
	s.URL = s.hs.URL
	return s, nil
}

// Start is New for tests: it fails tb if the server cannot start and
// closes the server when the test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := New(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server and discards its database. It is safe to call
// more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.hs.Close()
		s.mu.Lock()
		s.conn.Close()
		s.db.Close()
		s.mu.Unlock()
	})
}

// Stats returns how many requests the server has answered, by endpoint.
func (s *Server) Stats() Stats {
	return Stats{
		Execute: s.nExecute.Load(),
		Query:   s.nQuery.Load(),
		Request: s.nRequest.Load(),
		Status:  s.nStatus.Load(),
		Conns:   s.nConns.Load(),
	}
}

// hostPort is the server's address, 127.0.0.1:port.
func (s *Server) hostPort() string {
	return strings.TrimPrefix(s.URL, "http://")
}

// ServeHTTP answers one request of rqlite's HTTP API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-RQLITE-VERSION", "rqlitetest")
	if s.cfg.auth {
		w.Header().Set("WWW-Authenticate", `Basic realm="rqlite"`)
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.cfg.user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(s.cfg.password)) != 1 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	qp, err := parseQueryParams(r.URL.RawQuery)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/db/execute"):
		s.nExecute.Add(1)
		s.handleExecute(w, r, qp)
	case strings.HasPrefix(p, "/db/query"):
		s.nQuery.Add(1)
		s.handleQuery(w, r, qp)
	case strings.HasPrefix(p, "/db/request"):
		s.nRequest.Add(1)
		s.handleRequest(w, r, qp)
	case strings.HasPrefix(p, "/status"):
		s.nStatus.Add(1)
		s.handleStatus(w, r)
	case strings.HasPrefix(p, "/nodes"):
		s.nStatus.Add(1)
		s.handleNodes(w, r)
	case strings.HasPrefix(p, "/readyz"):
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.Write([]byte("[+]node ok\n[+]leader ok\n[+]store ok\n"))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// queryParams holds the request's query parameters; flags such as
// "transaction" are present with an empty value.
type queryParams map[string]string

func (q queryParams) has(k string) bool { _, ok := q[k]; return ok }

func parseQueryParams(raw string) (queryParams, error) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, err
	}
	qp := queryParams{}
	for k, v := range vals {
		qp[k] = v[0]
	}
	for _, k := range []string{"timeout", "freshness", "db_timeout", "linearizable_timeout"} {
		if v, ok := qp[k]; ok {
			if _, err := time.ParseDuration(v); err != nil {
				return nil, fmt.Errorf("%s is not a valid duration", k)
			}
		}
	}
	if v, ok := qp["q"]; ok && v == "" {
		return nil, errors.New("query parameter not set")
	}
	return qp, nil
}

// statement is one parsed statement of a request body.
type statement struct {
	sql  string
	args []any
}

var (
	errNoStatements   = errors.New("no statements")
	errInvalidJSON    = errors.New("invalid JSON body")
	errInvalidRequest = errors.New("invalid request")
	errUnsupported    = errors.New("unsupported type")
)

// parseStatements decodes a request body: a JSON array whose elements are
// SQL strings or arrays of [sql, params...].
func parseStatements(r io.Reader) ([]statement, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return nil, errInvalidJSON
	}
	if t != json.Delim('[') {
		return nil, errInvalidRequest
	}
	var stmts []statement
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, errInvalidJSON
		}
		if s, ok := t.(string); ok {
			stmts = append(stmts, statement{sql: s})
			continue
		}
		if t != json.Delim('[') {
			return nil, errInvalidRequest
		}
		var items []any
		for dec.More() {
			var item any
			if err := dec.Decode(&item); err != nil {
				return nil, errInvalidJSON
			}
			items = append(items, item)
		}
		if t, err := dec.Token(); err != nil || t != json.Delim(']') {
			return nil, errInvalidJSON
		}
		if len(items) == 0 {
			return nil, errInvalidRequest
		}
		q, ok := items[0].(string)
		if !ok {
			return nil, errInvalidRequest
		}
		st := statement{sql: q}
		for _, it := range items[1:] {
			if m, ok := it.(map[string]any); ok {
				for k, v := range m {
					p, err := makeParam(v)
					if err != nil {
						return nil, err
					}
					st.args = append(st.args, sql.Named(k, p))
				}
				continue
			}
			p, err := makeParam(it)
			if err != nil {
				return nil, err
			}
			st.args = append(st.args, p)
		}
		stmts = append(stmts, st)
	}
	if _, err := dec.Token(); err != nil {
		return nil, errInvalidJSON
	}
	if len(stmts) == 0 {
		return nil, errNoStatements
	}
	return stmts, nil
}

// makeParam converts one JSON parameter the way rqlite does.
func makeParam(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("invalid number %s", x)
		}
		return f, nil
	case bool, nil:
		return x, nil
	case string:
		if b, ok := parseHex(x); ok {
			return b, nil
		}
		return x, nil
	case []any:
		b := make([]byte, len(x))
		for i, e := range x {
			n, ok := e.(json.Number)
			if !ok {
				return nil, fmt.Errorf("%w %T", errUnsupported, e)
			}
			i64, err := n.Int64()
			if err != nil || i64 < 0 || i64 > 255 {
				return nil, fmt.Errorf("%w %s", errUnsupported, n)
			}
			b[i] = byte(i64)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w %T", errUnsupported, v)
}

// parseHex recognises rqlite's BLOB literal form for string parameters:
// x'...' or X'...' around hex digits, with surrounding space ignored.
func parseHex(s string) ([]byte, bool) {
	t := strings.TrimSpace(s)
	if len(t) < 3 || (t[0] != 'x' && t[0] != 'X') {
		return nil, false
	}
	t = t[1:]
	if t[0] != '\'' || t[len(t)-1] != '\'' {
		return nil, false
	}
	b, err := hex.DecodeString(t[1 : len(t)-1])
	if err != nil {
		return nil, false
	}
	return b, true
}

// result is one element of a response's "results" array.
type result struct {
	LastInsertID int64    `json:"last_insert_id,omitempty"`
	RowsAffected int64    `json:"rows_affected,omitempty"`
	Columns      []string `json:"columns,omitempty"`
	Types        []string `json:"types,omitempty"`
	Values       [][]any  `json:"values,omitempty"`
	Error        string   `json:"error,omitempty"`
	Time         float64  `json:"time,omitempty"`
}

type response struct {
	Results        []result `json:"results"`
	Error          string   `json:"error,omitempty"`
	Time           float64  `json:"time,omitempty"`
	SequenceNumber int64    `json:"sequence_number,omitempty"`
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(b)
}

// readStatements reads the statements of a POST body (JSON, or one plain
// SQL text with Content-Type text/plain).
func readStatements(r *http.Request) ([]statement, error) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		return []statement{{sql: string(b)}}, nil
	}
	return parseStatements(r.Body)
}

func (s *Server) handleExecute(w http.ResponseWriter, r *http.Request, qp queryParams) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w)
		return
	}
	stmts, err := readStatements(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.respond(w, r, qp, stmts, modeExecute)
}

func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request, qp queryParams) {
	var stmts []statement
	switch r.Method {
	case http.MethodGet:
		stmts = []statement{{sql: qp["q"]}}
	case http.MethodPost:
		var err error
		if stmts, err = readStatements(r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	default:
		methodNotAllowed(w)
		return
	}
	s.respond(w, r, qp, stmts, modeQuery)
}

func (s *Server) handleRequest(w http.ResponseWriter, r *http.Request, qp queryParams) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w)
		return
	}
	stmts, err := parseStatements(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.respond(w, r, qp, stmts, modeRequest)
}

// methodNotAllowed answers a request the endpoint does not take, as
// rqlite does: 405 with an empty body.
func methodNotAllowed(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusMethodNotAllowed)
}

// respond runs stmts as endpoint m and writes rqlite's JSON response: the
// results (or, for a queued execute, only a sequence number), the request's
// error and, with the timings parameter, its time.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, qp queryParams, stmts []statement, m mode) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	start := time.Now()
	results, err := s.run(r.Context(), stmts, qp.has("transaction"), qp.has("timings"), m)
	resp := response{Results: results}
	if err != nil {
		resp.Error = err.Error()
	}
	if m == modeExecute && qp.has("queue") {
		resp = response{Results: []result{}, SequenceNumber: s.seq.Add(1)}
	}
	if qp.has("timings") {
		resp.Time = time.Since(start).Seconds()
	}
	writeJSON(w, resp)
}

type mode int

const (
	modeExecute mode = iota // every statement is a write (RETURNING: rows)
	modeQuery               // every statement is a read; writes are refused
	modeRequest             // each statement is classified
)

// execQuerier is what a statement runs on: the connection or a transaction.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// run executes stmts under the server's lock and returns one result per
// non-empty statement, as rqlite does for the given endpoint.
func (s *Server) run(ctx context.Context, stmts []statement, tx, timings bool, m mode) ([]result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Finish the request even if the client goes away, as a server would.
	ctx = context.WithoutCancel(ctx)

	if m == modeQuery {
		if _, err := s.conn.ExecContext(ctx, "PRAGMA query_only = ON"); err != nil {
			return nil, err
		}
		defer s.conn.ExecContext(ctx, "PRAGMA query_only = OFF")
	}

	var eq execQuerier = s.conn
	var t *sql.Tx
	if tx {
		var err error
		if t, err = s.conn.BeginTx(ctx, nil); err != nil {
			return nil, errText(err)
		}
		eq = t
	}
	if m == modeRequest {
		// Classify the statements before running any: EXPLAIN resets
		// SQLite's changes(), which a statement may read from the one
		// before it. (A statement that cannot be prepared yet, say after
		// DDL earlier in the request, is classified at its turn.)
		for _, st := range stmts {
			if st.sql != "" {
				_, _ = s.readOnly(ctx, eq, st)
			}
		}
	}
	results := []result{}
	for _, st := range stmts {
		if st.sql == "" {
			continue
		}
		start := time.Now()
		var res result
		var err error
		switch m {
		case modeQuery:
			res, err = query(ctx, eq, st)
			if err != nil && isReadOnlyErr(err) {
				err = errors.New(errQueryWrite)
			}
		case modeExecute:
			if hasReturning(st.sql) {
				res, err = query(ctx, eq, st)
			} else {
				res, err = execute(ctx, eq, st)
			}
		case modeRequest:
			ro, perr := s.readOnly(ctx, eq, st)
			if perr != nil {
				// rqlite reports a statement it cannot prepare and goes on.
				results = append(results, result{Error: errText(perr).Error()})
				continue
			}
			if ro || hasReturning(st.sql) {
				res, err = query(ctx, eq, st)
			} else {
				res, err = execute(ctx, eq, st)
			}
		}
		if err != nil {
			res = result{Error: errText(err).Error()}
		}
		if timings {
			res.Time = time.Since(start).Seconds()
		}
		results = append(results, res)
		if err != nil && m != modeQuery && t != nil {
			// The first failure in a transaction rolls it back and ends
			// the request.
			t.Rollback()
			t = nil
			break
		}
	}
	if t != nil {
		if err := t.Commit(); err != nil {
			return results, errText(err)
		}
	}
	return results, nil
}

func execute(ctx context.Context, eq execQuerier, st statement) (result, error) {
	r, err := eq.ExecContext(ctx, st.sql, st.args...)
	if err != nil {
		return result{}, err
	}
	var res result
	if res.LastInsertID, err = r.LastInsertId(); err != nil {
		return result{}, err
	}
	if res.RowsAffected, err = r.RowsAffected(); err != nil {
		return result{}, err
	}
	return res, nil
}

func query(ctx context.Context, eq execQuerier, st statement) (result, error) {
	rows, err := eq.QueryContext(ctx, st.sql, st.args...)
	if err != nil {
		return result{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return result{}, err
	}
	cts, err := rows.ColumnTypes()
	if err != nil {
		return result{}, err
	}
	types := make([]string, len(cts))
	for i, ct := range cts {
		types[i] = strings.ToLower(ct.DatabaseTypeName())
	}
	res := result{Columns: cols, Types: types}
	needTypes := true
	for rows.Next() && len(cols) > 0 {
		dest := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range dest {
			ptrs[i] = &dest[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return result{}, err
		}
		row := make([]any, len(cols))
		for i, v := range dest {
			row[i] = normalize(v, types[i])
		}
		if needTypes {
			// Like rqlite: a column without a declared type (an
			// expression) takes the type of its first row's value.
			for i := range types {
				if types[i] == "" {
					types[i] = valueType(row[i])
				}
			}
			needTypes = false
		}
		res.Values = append(res.Values, row)
	}
	if err := rows.Err(); err != nil {
		return result{}, err
	}
	return res, nil
}

// normalize turns a scanned value into what rqlite puts in its JSON.
func normalize(v any, typ string) any {
	switch x := v.(type) {
	case []byte:
		// rqlite hands a BLOB back as text when the column's type is a
		// text type (or none); otherwise as base64 in the JSON.
		if isTextType(typ) {
			return string(x)
		}
		return x
	case time.Time:
		b, _ := x.MarshalText()
		return string(b)
	case int:
		return int64(x)
	}
	return v
}

func valueType(v any) string {
	switch v.(type) {
	case int64:
		return "integer"
	case float64:
		return "real"
	case bool:
		return "boolean"
	case []byte:
		return "blob"
	case string:
		return "text"
	}
	return ""
}

// isTextType is rqlite's list of declared types whose values are text.
func isTextType(t string) bool {
	return t == "text" || t == "json" || t == "" ||
		strings.HasPrefix(t, "varchar") || strings.HasPrefix(t, "varying character") ||
		strings.HasPrefix(t, "nchar") || strings.HasPrefix(t, "native character") ||
		strings.HasPrefix(t, "nvarchar") || strings.HasPrefix(t, "clob")
}

// hasReturning is rqlite's test for a statement to run as a query.
func hasReturning(q string) bool {
	return strings.Contains(strings.ToLower(q), "returning ")
}

// readOnly reports whether st only reads, from its EXPLAIN program: a
// statement that writes opens a write transaction (OP_Transaction with a
// non-zero P2), which is what sqlite3_stmt_readonly reports. The answer
// depends on the text alone and is remembered.
func (s *Server) readOnly(ctx context.Context, eq execQuerier, st statement) (bool, error) {
	if ro, ok := s.ro[st.sql]; ok {
		return ro, nil
	}
	ro, err := explainReadOnly(ctx, eq, st)
	if err != nil {
		return false, err
	}
	if s.ro == nil || len(s.ro) > 10000 {
		s.ro = map[string]bool{}
	}
	s.ro[st.sql] = ro
	return ro, nil
}

// explainReadOnly classifies st from its EXPLAIN program.
func explainReadOnly(ctx context.Context, eq execQuerier, st statement) (bool, error) {
	rows, err := eq.QueryContext(ctx, "EXPLAIN "+st.sql, st.args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return false, err
	}
	ro := true
	for rows.Next() {
		dest := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range dest {
			ptrs[i] = &dest[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return false, err
		}
		if len(dest) < 4 {
			continue
		}
		op := fmt.Sprint(dest[1])
		if b, ok := dest[1].([]byte); ok {
			op = string(b)
		}
		switch op {
		case "Transaction":
			if p2, ok := dest[3].(int64); ok && p2 != 0 {
				ro = false
			}
		case "OpenWrite", "CreateBtree", "Destroy", "Clear", "VUpdate", "VCreate", "VDestroy":
			ro = false
		}
	}
	return ro, rows.Err()
}

var codeSuffix = regexp.MustCompile(`\s\(\d+\)( \(SQLITE_BUSY\))?$`)

// errText rewrites a modernc.org/sqlite error to the text SQLite's
// sqlite3_errmsg gives (what rqlite reports), dropping the driver's
// "errstr: " prefix and " (code)" suffix.
func errText(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	msg := codeSuffix.ReplaceAllString(se.Error(), "")
	if _, after, ok := strings.Cut(msg, ": "); ok {
		msg = after
	}
	return errors.New(msg)
}

func isReadOnlyErr(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 8 // SQLITE_READONLY
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	addr := s.hostPort()
	writeJSON(w, map[string]any{
		"build": map[string]any{"version": "rqlitetest"},
		"http":  map[string]any{"bind_addr": addr, "auth": enabled(s.cfg.auth)},
		"store": map[string]any{
			"node_id": "rqlitetest",
			"ready":   true,
			"leader":  map[string]any{"node_id": "rqlitetest", "addr": addr},
			"raft":    map[string]any{"state": "Leader"},
		},
	})
}

func (s *Server) handleNodes(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	node := map[string]any{
		"id":        "rqlitetest",
		"api_addr":  s.URL,
		"addr":      s.hostPort(),
		"version":   "rqlitetest",
		"voter":     true,
		"reachable": true,
		"leader":    true,
	}
	if r.URL.Query().Get("ver") == "2" {
		writeJSON(w, map[string]any{"nodes": []any{node}})
		return
	}
	writeJSON(w, map[string]any{"rqlitetest": node})
}

func enabled(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

// String describes the server for test logs.
func (s *Server) String() string {
	return "rqlitetest (stand-in for rqlite) at " + s.URL + " [" + strconv.FormatBool(s.cfg.auth) + " auth]"
}
