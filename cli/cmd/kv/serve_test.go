package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// serving is a kv serve running in this process.
type serving struct {
	serveJSON
	stop func() result // ends it (as Ctrl+C does) and returns how it exited
}

// startServe runs kv serve with args until the test ends or stop is
// called, and waits until it listens.
func startServe(t *testing.T, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	var stderr strings.Builder
	done := make(chan result, 1)
	go func() {
		code := run(ctx, append([]string{"serve"}, args...), strings.NewReader(""), outW, &stderr)
		outW.Close()
		done <- result{code: code, stderr: stderr.String()}
	}()
	lines := bufio.NewReader(outR)
	line, err := lines.ReadString('\n')
	if err != nil {
		cancel()
		r := <-done
		t.Fatalf("kv serve %q did not start: exit %d, %s", args, r.code, r.stderr)
	}
	go func() { _, _ = io.Copy(io.Discard, lines) }()
	s := &serving{}
	if err := json.Unmarshal([]byte(line), &s.serveJSON); err != nil {
		t.Fatalf("kv serve printed %q: %v", line, err)
	}
	var once *result
	s.stop = func() result {
		if once == nil {
			cancel()
			r := <-done
			once = &r
		}
		return *once
	}
	t.Cleanup(func() { s.stop() })
	return s
}

// get fetches path (relative to the server's URL) with the header pairs
// given, and returns its status and body.
func get(t *testing.T, base, path string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestServeFlags: addresses off the loopback interface need a token, a
// token must not be short, and bad arguments are usage errors; none opens
// the store.
func TestServeFlags(t *testing.T) {
	clearEnv(t)
	db := "--connection=" + filepath.Join(t.TempDir(), "missing.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "0.0.0.0:0"}, "--addr 0.0.0.0:0 is not on the loopback interface: listening there needs --token"},
		{[]string{"--addr", ":8080"}, "needs --token"},
		{[]string{"--addr", "example.com:80"}, "needs --token"},
		{[]string{"--addr", "8080"}, `--addr "8080": want host:port`},
		{[]string{"--token", "short"}, "--token (or KV_SERVE_TOKEN) is 5 characters: want at least 16"},
		{[]string{"extra"}, "serve: got 1 argument(s), want no arguments"},
	} {
		r := kv(t, "", append(append([]string{"serve"}, c.args...), db)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("kv serve %q: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	t.Setenv("KV_SERVE_TOKEN", "short")
	if r := kv(t, "", "serve", db); r.code != 2 || !strings.Contains(r.stderr, "KV_SERVE_TOKEN") {
		t.Errorf("a short KV_SERVE_TOKEN: exit %d, %q", r.code, r.stderr)
	}
}

// TestServe: on the loopback interface without a token, kv serve serves
// the dashboard and the metrics to requests for localhost only, refuses
// writes without --allow-writes, and stops cleanly.
func TestServe(t *testing.T) {
	clearEnv(t)
	db := "--connection=" + filepath.Join(t.TempDir(), "data.db")
	mustKV(t, `{"n":1}`, "put", "user/1", db)
	ro := "--connection=file:" + strings.TrimPrefix(db, "--connection=") + "?mode=ro"
	if r := kv(t, "", "serve", "--allow-writes", "--addr", "127.0.0.1:0", ro); r.code != 2 || !strings.Contains(r.stderr, "--allow-writes: the connection is read-only") {
		t.Errorf("kv serve --allow-writes on a read-only connection: exit %d, %q", r.code, r.stderr)
	}
	s := startServe(t, "--addr", "127.0.0.1:0", db)
	if s.Writes || s.Token || !strings.HasPrefix(s.URL, "http://127.0.0.1:") || s.Metrics != s.URL+"metrics" {
		t.Fatalf("kv serve printed %+v", s.serveJSON)
	}
	if code, body := get(t, s.URL, ""); code != 200 || !strings.Contains(body, "<h1>Overview</h1>") || !strings.Contains(body, "sqlite") {
		t.Errorf("GET /: %d %.200q", code, body)
	}
	if code, body := get(t, s.URL, "keys"); code != 200 || !strings.Contains(body, "user/1") {
		t.Errorf("GET /keys: %d", code)
	}
	if code, body := get(t, s.URL, "metrics"); code != 200 || !strings.Contains(body, "kv_stream_head_seq 1") {
		t.Errorf("GET /metrics: %d %.300q", code, body)
	}
	// Another host name (DNS rebinding) is refused, the page and the
	// metrics alike.
	for _, path := range []string{"", "metrics"} {
		if code, _ := get(t, s.URL, path, "Host", "evil.example:80"); code != http.StatusMisdirectedRequest {
			t.Errorf("GET /%s for evil.example: %d, want 421", path, code)
		}
	}
	if code, _ := get(t, s.URL, "", "Host", "localhost"); code != 200 {
		t.Errorf("GET / for localhost: %d", code)
	}
	// A write with the page's CSRF token is still refused: read-only.
	_, page := get(t, s.URL, "")
	token := between(page, `name="kv-csrf" content="`, `"`)
	resp, err := http.PostForm(s.URL+"delete-key", url.Values{"csrf": {token}, "key": {"user/1"}, "version": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || token == "" {
		t.Errorf("POST /delete-key read-only: %d (token %q)", resp.StatusCode, token)
	}
	if got := mustKV(t, "", "count", "all", db); got != "1\n" {
		t.Errorf("after a refused delete: %s keys", got)
	}
	r := s.stop()
	if r.code != 0 || !strings.Contains(r.stderr, "kv serve: listening") {
		t.Errorf("kv serve stopped with exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestServeToken: with --token (here on every interface), every request
// needs the token, the metrics' too; a browser's first ?token= visit sets
// a cookie.
func TestServeToken(t *testing.T) {
	clearEnv(t)
	const token = "0123456789abcdef-token"
	t.Setenv("KV_SERVE_TOKEN", token)
	db := "--connection=" + filepath.Join(t.TempDir(), "data.db")
	mustKV(t, "", "init", db)
	s := startServe(t, "--addr", "0.0.0.0:0", db)
	if !s.Token {
		t.Fatalf("kv serve printed %+v", s.serveJSON)
	}
	u, err := url.Parse(s.URL)
	if err != nil || u.Hostname() != "localhost" {
		t.Fatalf("kv serve on every interface printed %q: want a localhost URL", s.URL)
	}
	port := u.Port()
	base := "http://127.0.0.1:" + port + "/"
	for _, path := range []string{"", "metrics", "keys", "static/style.css"} {
		if code, body := get(t, base, path); code != http.StatusUnauthorized || strings.Contains(body, token) {
			t.Errorf("GET /%s without the token: %d", path, code)
		}
		if code, _ := get(t, base, path, "Authorization", "Bearer "+token); code != 200 {
			t.Errorf("GET /%s with the token: %d", path, code)
		}
	}
	code, _ := get(t, base, "keys?token="+token)
	if code != http.StatusSeeOther {
		t.Errorf("GET /keys?token=: %d, want a redirect that sets the cookie", code)
	}
}

// between returns the text of s between the first start and the next end.
func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, end)
	return v
}

// TestServePostgresHidesPassword: the password of the connection string
// shows nowhere: not on a page, not in the metrics, not in the output.
func TestServePostgresHidesPassword(t *testing.T) {
	clearEnv(t)
	conn := postgresConn(t)
	const password = "Sup3rSecretPassw0rd"
	conn = strings.Replace(conn, "postgres://postgres@", "postgres://postgres:"+password+"@", 1)
	if !strings.Contains(conn, password) {
		t.Fatalf("no password put in %q", conn)
	}
	mustKV(t, "", "init", "--type=postgres", conn)
	s := startServe(t, "--addr", "127.0.0.1:0", "--type=postgres", conn)
	for _, path := range []string{"", "keys", "stream", "tasks", "graph", "metrics", "nope"} {
		_, body := get(t, s.URL, path)
		if strings.Contains(body, password) {
			t.Errorf("GET /%s shows the password", path)
		}
		if path == "" && !strings.Contains(body, "postgres:xxxxx@") {
			t.Errorf("GET / does not show the connection with its password replaced: %.500q", body)
		}
	}
	if r := s.stop(); strings.Contains(r.stderr, password) || r.code != 0 {
		t.Errorf("exit %d, stderr shows the password: %v", r.code, strings.Contains(r.stderr, password))
	}
}
