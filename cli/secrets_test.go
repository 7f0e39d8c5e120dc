package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/redact"
)

// The password the secrets tests hide; the reliability module's badinput
// suite runs the same checks against the built binary and real servers.
const testSecret = "S3cr3tPa55"

// secretConns are failing connection strings (nothing listens on port 1)
// that carry testSecret in every place kv accepts one.
var secretConns = []struct{ typ, conn string }{
	{"postgres", "postgres://postgres:" + testSecret + "@127.0.0.1:1/db"},
	{"postgres", "postgres://postgres@127.0.0.1:1/db?password=" + testSecret},
	{"postgres", "postgres://postgres:" + testSecret + "@127.0.0.1:1/db?sslmode=sometimes"},
	{"postgres", "postgres://postgres:" + testSecret + "%zz@127.0.0.1:1/db"},
	{"postgres", "host=127.0.0.1 port=1 user=postgres password=" + testSecret + " dbname=db"},
	{"postgres", "host=127.0.0.1 port=1 user=postgres password='" + testSecret + " x' dbname=db"},
	{"postgres", "host=127.0.0.1 port=1 user=postgres password=" + testSecret + "://x dbname=db"},
	{"postgres", "mysql://root:" + testSecret + "@127.0.0.1:1/db"},
	{"rqlite", "http://user:" + testSecret + "@127.0.0.1:1"},
	{"rqlite", "http://127.0.0.1:1?user=u&password=" + testSecret},
	{"rqlite", "http://u:" + testSecret + "@127.0.0.1:1?level=loud"},
	{"rqlite", "ftp://u:" + testSecret + "@127.0.0.1:1"},
	{"sqlite", "postgres://postgres:" + testSecret + "@127.0.0.1:1/db"},
	{"sqlite", "file:/nonexistent/dir/x.db?mode=rwc&password=" + testSecret},
}

// TestOpenErrorsHideSecrets: open.Open's errors (before kv's own scrubbing
// of messages) never contain the password.
func TestOpenErrorsHideSecrets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range secretConns {
		b, err := open.Open(ctx, open.Config{Type: c.typ, Connection: c.conn})
		if err == nil {
			_ = b.Close()
			t.Errorf("open %s %s: no error", c.typ, redact.Connection(c.conn))
			continue
		}
		if strings.Contains(err.Error(), testSecret) {
			t.Errorf("open %s: error shows the password: %v", c.typ, err)
		}
	}
}

// TestCommandsHideSecrets runs kv in-process with each connection string
// given by flag, by KV_CONNECTION and by a config file, in a plain command
// and in the long-running ones, and checks that neither stdout nor stderr
// shows the password.
func TestCommandsHideSecrets(t *testing.T) {
	dir := t.TempDir()
	for i, c := range secretConns {
		cfg := filepath.Join(dir, "kv"+string(rune('a'+i))+".conf")
		if err := os.WriteFile(cfg, []byte("type "+c.typ+"\nconnection "+c.conn+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		runs := []struct {
			how  string
			env  map[string]string
			args []string
		}{
			{"flag", nil, []string{"--type", c.typ, "--connection", c.conn, "count", "all"}},
			{"flag, task run", nil, []string{"--type=" + c.typ, "--connection=" + c.conn, "task", "run", "--idle-exit", "--log-level=debug"}},
			{"flag, consumer stream", nil, []string{"--type=" + c.typ, "--connection=" + c.conn, "consumer", "stream", "c", "--idle-exit=1s", "--log-level=debug"}},
			{"env", map[string]string{"KV_TYPE": c.typ, "KV_CONNECTION": c.conn}, []string{"list"}},
			{"config file", nil, []string{"--config", cfg, "get", "key", "k"}},
			{"stray argument", nil, []string{"--type", c.typ, "get", "key", "k", c.conn}},
		}
		for _, r := range runs {
			clearEnv(t)
			for k, v := range r.env {
				t.Setenv(k, v)
			}
			res := kv(t, `{}`, r.args...)
			if res.code == 0 {
				t.Errorf("%s %s (%s): exit 0", c.typ, redact.Connection(c.conn), r.how)
			}
			if strings.Contains(res.stdout+res.stderr, testSecret) {
				t.Errorf("%s (%s): output shows the password:\nstdout %s\nstderr %s", c.typ, r.how, res.stdout, res.stderr)
			}
		}
	}
}

// FuzzRedact: whatever the password, redact.Connection hides it in every
// form of connection string, and redact.Scrub hides it (and its escaped
// spellings) in any text.
func FuzzRedact(f *testing.F) {
	for _, pw := range []string{testSecret, "p@ss:w/rd", "a b'c\\d", "hunter2://x", "100%", "x?y#z&w=1", "ünïcødé", "------", "%zz%41"} {
		for form := range 5 {
			f.Add(pw, uint8(form))
		}
	}
	f.Fuzz(func(t *testing.T, pw string, form uint8) {
		conn, skeleton, ok := connWith(pw, form%5)
		if !ok || len(pw) < 4 || strings.Contains(skeleton, pw) || strings.Contains(redact.Mask, pw) ||
			strings.Contains(pw, redact.Mask) {
			return // too short or too common to tell apart from the rest of the string
		}
		if got := redact.Connection(conn); strings.Contains(got, pw) {
			t.Fatalf("Connection(%q) = %q shows the password %q", conn, got, pw)
		}
		text := "dial " + conn + ": failed for " + pw + " (" + url.QueryEscape(pw) + ")"
		if got := redact.Scrub(text, conn); strings.Contains(got, pw) {
			t.Fatalf("Scrub(%q) = %q shows the password %q", text, got, pw)
		}
	})
}

// connWith builds a connection string of the given form with password pw,
// and the same string with pw left out (to tell whether pw also occurs
// elsewhere in it). ok is false if pw cannot be written in that form.
func connWith(pw string, form uint8) (conn, skeleton string, ok bool) {
	build := func(p string) string {
		switch form {
		case 0: // URL user info
			u := url.URL{Scheme: "postgres", User: url.UserPassword("me", p), Host: "db.example:5432", Path: "/app"}
			return u.String()
		case 1: // URL query parameter
			return "postgres://me@db.example/app?" + url.Values{"password": {p}, "sslmode": {"disable"}}.Encode()
		case 2: // rqlite user info
			u := url.URL{Scheme: "http", User: url.UserPassword("admin", p), Host: "node:4001"}
			return u.String()
		case 3: // keyword/value, unquoted
			return "host=db.example user=me password=" + p + " dbname=app"
		default: // keyword/value, quoted
			q := strings.ReplaceAll(strings.ReplaceAll(p, `\`, `\\`), `'`, `\'`)
			return "host=db.example user=me password='" + q + "' dbname=app"
		}
	}
	if form == 3 && strings.ContainsAny(pw, " \t\r\n\v\f'\\") {
		return "", "", false
	}
	if form == 4 && strings.ContainsAny(pw, "\t\r\n\v\f") {
		return "", "", false
	}
	return build(pw), build(""), true
}
