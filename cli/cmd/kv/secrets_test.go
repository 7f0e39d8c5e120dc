package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/redact"
	"github.com/kvsuite/kv/cli/secrettest"
)

// secretRun is one way of running kv with a connection string: its
// arguments, environment and config file.
type secretRun struct {
	how    string
	env    map[string]string
	config string // the config file's text ("" for none)
	args   []string
}

// secretRuns are the command paths that can print a connection string,
// for connection string conn of backend typ: an error of open given by
// flag, KV_CONNECTION and a config file (well-formed, "name=value" and
// quoted lines), kv status (text and JSON), and the debug logs of
// consumer stream and task run.
func secretRuns(typ, conn string) []secretRun {
	line := "type " + typ + "\nconnection "
	return []secretRun{
		{"flag", nil, "", []string{"--type", typ, "--connection", conn, "count", "all"}},
		{"KV_CONNECTION", map[string]string{"KV_TYPE": typ, "KV_CONNECTION": conn}, "", []string{"list"}},
		{"config file", nil, line + conn + "\n", []string{"get", "key", "k"}},
		{"config file name=value", nil, "type " + typ + "\nconnection=" + conn + "\n", []string{"list"}},
		{"config file quoted", nil, line + `"` + conn + `"` + "\n", []string{"list"}},
		{"status", nil, "", []string{"--type=" + typ, "--connection=" + conn, "status"}},
		{"status json via KV_CONFIG", map[string]string{"KV_CONFIG": "@CONFIG@"}, line + conn + "\n", []string{"status", "--json"}},
		{"consumer stream", nil, "", []string{"--type=" + typ, "--connection=" + conn, "consumer", "stream", "c", "--idle-exit=1s", "--log-level=debug"}},
		{"task run", nil, "", []string{"--type=" + typ, "--connection=" + conn, "task", "run", "--idle-exit", "--log-level=debug", "--log-format=json"}},
	}
}

// misplacedRuns are command lines with a connection string where another
// value belongs: the flag package's errors, kv's own echo of a value, a
// word taken for a command, and a config file path.
func misplacedRuns(conn string) []secretRun {
	return []secretRun{
		{"as --type", nil, "", []string{"--type", conn, "list"}},
		{"as --log-level", nil, "", []string{"list", "--log-level", conn}},
		{"as KV_LOG_FORMAT", map[string]string{"KV_LOG_FORMAT": conn}, "", []string{"list"}},
		{"as --version", nil, "", []string{"put", "k", "--version", conn}},
		{"as --ttl", nil, "", []string{"put", "k", "--ttl=" + conn}},
		{"as --json", nil, "", []string{"status", "--json=" + conn}},
		{"as a flag name", nil, "", []string{"list", "-" + conn}},
		{"as a command", nil, "", []string{conn}},
		{"as a subcommand", nil, "", []string{"get", conn}},
		{"as an offset", nil, "", []string{"list", conn}},
		{"as a seq", nil, "", []string{"stream", "get", conn}},
		{"as --config", nil, "", []string{"--config", conn, "list"}},
	}
}

// TestSecretCorpus runs kv in-process with every connection string of the
// generated corpus (each form, with the password alone and with each
// separator inserted, see package secrettest), for each backend type,
// through every command path that can print one, and checks that neither
// stdout nor stderr shows the password or any 4-byte part of it.
func TestSecretCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("the secret corpus runs kv some 11,000 times; it does not run with -short")
	}
	t.Chdir(t.TempDir()) // a SQLite file a run creates lands here
	cfg := filepath.Join(t.TempDir(), "kv.conf")
	runs := 0
	check := func(r secretRun, pw, name string) {
		t.Helper()
		clearEnv(t)
		if r.config != "" {
			if err := os.WriteFile(cfg, []byte(r.config), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		args := r.args
		if r.config != "" && r.env == nil {
			args = append([]string{"--config", cfg}, args...)
		}
		for k, v := range r.env {
			t.Setenv(k, strings.ReplaceAll(v, "@CONFIG@", cfg))
		}
		res := kv(t, "", args...)
		runs++
		if s := secrettest.Leak(res.stdout+res.stderr, pw); s != "" {
			t.Errorf("%s (%s): output shows %q:\nstdout %s\nstderr %s", name, r.how, s, res.stdout, res.stderr)
		}
	}
	for i, pw := range secrettest.Sample() {
		for _, c := range secrettest.Forms(pw) {
			// Each path runs with one backend type, in turn: across the
			// passwords every form meets every path on every type.
			for j, typ := range open.Types {
				for k, r := range secretRuns(typ, c.Conn) {
					if (i+k)%len(open.Types) == j {
						check(r, pw, typ+" "+c.Form+" "+redact.Connection(c.Conn))
					}
				}
			}
			for _, r := range misplacedRuns(c.Conn) {
				check(r, pw, c.Form+" "+redact.Connection(c.Conn))
			}
		}
	}
	t.Logf("%d runs of kv", runs)
}

// TestMalformedConnection: a connection string kv cannot read is refused
// before any backend sees it, with an error that says which part is wrong
// and shows none of it; a URL or keyword/value string given to SQLite is
// refused too (SQLite would take it for a file name).
func TestMalformedConnection(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tt := range []struct {
		typ, conn, want string
	}{
		{"postgres", " postgres://u:S3cr3tZq@127.0.0.1:1/db", "malformed connection string (not shown): it starts with white space"},
		{"rqlite", "http://u:S3cr/3tZq@127.0.0.1:1", "percent-encode them in a password"},
		{"rqlite", "admin:S3cr3tZq@127.0.0.1:4101", "no scheme://"},
		{"postgres", `host=h password="S3cr 3tZq"`, "the value of password starts with a double quote"},
		{"sqlite", "postgres:S3cr3tZq@h/db", "no scheme://"},
		{"sqlite", "postgres://u:S3cr3tZq@h/db", "it is a URL, but --type sqlite takes a file path or a file: URI"},
		{"sqlite", "host=h password=S3cr3tZq", "it is a keyword/value string, but --type sqlite"},
	} {
		clearEnv(t)
		r := kv(t, "", "--type", tt.typ, "--connection", tt.conn, "init")
		if r.code != 1 || !strings.Contains(r.stderr, "kv: open "+tt.typ+": ") || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s %q: exit %d stderr %q, want %q", tt.typ, redact.Connection(tt.conn), r.code, r.stderr, tt.want)
		}
		if strings.Contains(r.stderr, "S3cr") {
			t.Errorf("%s: stderr shows the password: %q", tt.typ, r.stderr)
		}
		if entries, _ := os.ReadDir("."); len(entries) > 0 {
			t.Errorf("%s: created %s", tt.typ, entries[0].Name())
		}
	}
}

// FuzzRedact: whatever the password, redact.Connection hides it in every
// form of connection string, and redact.Scrub hides it (and its escaped
// spellings) in any text.
func FuzzRedact(f *testing.F) {
	for _, pw := range []string{secrettest.Password, "p@ss:w/rd", "a b'c\\d", "hunter2://x", "100%", "x?y#z&w=1", "ünïcødé", "------", "%zz%41"} {
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
