package badinput

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/cli/secrettest"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/backend-postgres/postgrestest"
	rqlitekv "github.com/kvsuite/kv/backend-rqlite"
	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// The passwords the secrets tests put in connection strings: a plain one
// and one that a URL must percent-encode.
const (
	secret        = "S3cr3tPa55"
	specialSecret = "Sp3c!al#Pw/x"
)

// secretForms are the spellings of the passwords that must never appear.
var secretForms = []string{secret, specialSecret, url.QueryEscape(specialSecret), url.PathEscape(specialSecret), "Sp3c%21al%23Pw"}

// leaks returns the form of a password that text shows, or "".
func leaks(text string) string {
	for _, s := range secretForms {
		if strings.Contains(text, s) {
			return s
		}
	}
	return ""
}

// postgresDB creates a database of its own on the test server and returns
// its URL with secret as the password (the local server trusts any), or
// "" and why if no server answers. The database is dropped at the end.
func postgresDB(t *testing.T) (string, string) {
	t.Helper()
	admin, source := postgrestest.ServerURL()
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: not a URL", source)
	}
	if _, has := u.User.Password(); has {
		return "", source + " has a password of its own: the trusted-password cases need the local trust-auth server"
	}
	db, why := postgrestest.TryNew(t, "badinput")
	if db == nil {
		return "", why
	}
	user := "postgres"
	if u.User != nil && u.User.Username() != "" {
		user = u.User.Username()
	}
	u.User = url.UserPassword(user, secret)
	u.Path = "/" + db.Name
	q := u.Query()
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	return u.String(), ""
}

// secretCase is one kv run with a password in its connection string. ok
// says it must succeed; otherwise it must fail (with code, if not 0).
type secretCase struct {
	name  string
	stdin string
	args  []string
	env   []string
	ok    bool
}

// TestSecretsNeverShown runs kv with passwords in connection strings given
// by flag, KV_CONNECTION and a config file, in failing commands (refused,
// unknown host, missing database, unknown role, unparsable strings, wrong
// rqlite credentials) and in successful ones (the trusting local
// PostgreSQL, the rqlite stand-in with basic auth), including the logs of
// kv task run and kv consumer stream at debug level, and checks that no
// stdout or stderr shows the password.
func TestSecretsNeverShown(t *testing.T) {
	dir := t.TempDir()
	refused := "postgres://postgres:" + secret + "@127.0.0.1:1/db"
	conf := filepath.Join(dir, "kv.conf")
	if err := os.WriteFile(conf, []byte("type postgres\nconnection "+refused+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	special := "postgres://postgres:" + url.QueryEscape(specialSecret) + "@127.0.0.1:1/db"
	pg := func(conn string, args ...string) []string {
		return append([]string{"--type=postgres", "--connection=" + conn}, args...)
	}
	rq := func(conn string, args ...string) []string {
		return append([]string{"--type=rqlite", "--connection=" + conn}, args...)
	}
	cases := []secretCase{
		{"postgres URL refused", "", pg(refused, "list"), nil, false},
		{"postgres URL refused, put", `1`, pg(refused, "put", "k"), nil, false},
		{"postgres URL special password", "", pg(special, "list"), nil, false},
		{"postgres password in query", "", pg("postgres://postgres@127.0.0.1:1/db?password="+secret, "list"), nil, false},
		{"postgres keyword/value", "", pg("host=127.0.0.1 port=1 user=postgres password="+secret+" dbname=db", "list"), nil, false},
		{"postgres keyword/value quoted", "", pg("host=127.0.0.1 port=1 user=postgres password='"+specialSecret+"' dbname=db", "list"), nil, false},
		{"postgres unparsable URL", "", pg("postgres://postgres:"+secret+"%zz@127.0.0.1:1/db", "list"), nil, false},
		{"postgres bad sslmode", "", pg(refused+"?sslmode=sometimes", "list"), nil, false},
		{"postgres port out of range", "", pg("postgres://postgres:"+secret+"@127.0.0.1:99999/db", "list"), nil, false},
		{"postgres unknown host", "", pg("postgres://postgres:"+secret+"@no-such-host.invalid/db?connect_timeout=5", "list"), nil, false},
		{"postgres missing database", "", pg("postgres://postgres:"+secret+"@127.0.0.1:5432/badinput_no_such_db?sslmode=disable", "list"), nil, false},
		{"postgres unknown role", "", pg("postgres://badinput_no_such_role:"+secret+"@127.0.0.1:5432/postgres?sslmode=disable", "list"), nil, false},
		{"postgres via KV_CONNECTION", "", []string{"list"}, []string{"KV_TYPE=postgres", "KV_CONNECTION=" + refused}, false},
		{"postgres via config file", "", []string{"--config=" + conf, "list"}, nil, false},
		{"postgres via KV_CONFIG", "", []string{"count", "all"}, []string{"KV_CONFIG=" + conf}, false},
		{"postgres, stray argument", `1`, pg(refused, "put", "k", refused), nil, false},
		{"postgres, unknown type", "", []string{"--type=mysql", "--connection=" + refused, "list"}, nil, false},
		{"postgres, bad flag value", "", pg(refused, "list", "--namespace="+strings.Repeat("n", 2000)), nil, false},
		{"postgres task run", "", pg(refused, "task", "run", "--idle-exit", "--log-level=debug"), nil, false},
		{"postgres consumer stream", "", pg(refused, "consumer", "stream", "c", "--idle-exit=1s", "--log-level=debug"), nil, false},
		{"sqlite given a postgres URL", "", []string{"--connection=" + refused, "list"}, nil, false},
		{"rqlite user info", "", rq("http://user:"+secret+"@127.0.0.1:1?leaderWait=0s", "list"), nil, false},
		{"rqlite password parameter", "", rq("http://127.0.0.1:1?user=u&password="+secret+"&leaderWait=0s", "list"), nil, false},
		{"rqlite unknown parameter", "", rq("http://u:"+secret+"@127.0.0.1:1?bogus=1", "list"), nil, false},
		{"rqlite bad level", "", rq("http://u:"+secret+"@127.0.0.1:1?level=loud", "list"), nil, false},
		{"rqlite no discovery", "", rq("http://u:"+secret+"@127.0.0.1:1?disableClusterDiscovery=true&timeout=2s&leaderWait=0s", "list"), nil, false},
		{"rqlite bad scheme", "", rq("ftp://u:"+secret+"@127.0.0.1:1", "list"), nil, false},
		{"rqlite via KV_CONNECTION", "", []string{"list"}, []string{"KV_TYPE=rqlite", "KV_CONNECTION=http://u:" + secret + "@127.0.0.1:1?leaderWait=0s"}, false},
		{"help with KV_CONNECTION", "", []string{"--help"}, []string{"KV_CONNECTION=" + refused}, true},
		{"list help with KV_CONNECTION", "", []string{"list", "--help"}, []string{"KV_CONNECTION=" + refused}, true},
	}

	// An rqlite with basic auth (a real rqlited, the stand-in without a
	// binary): the right password works, a wrong one (the secret) is
	// refused.
	authURL, kind := rqliteWithAuth(t, "admin", secret)
	good, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	good.User = url.UserPassword("admin", secret)
	wrong := *good
	wrong.User = url.UserPassword("admin", specialSecret)
	cases = append(cases,
		secretCase{kind + " put", `{"a":1}`, rq(good.String(), "put", "k"), nil, true},
		secretCase{kind + " get", "", rq(good.String(), "get", "key", "k"), nil, true},
		secretCase{kind + " missing key", "", rq(good.String(), "get", "key", "nope"), nil, false},
		secretCase{kind + " wrong password", "", rq(wrong.String(), "list"), nil, false},
	)

	pgURL, why := postgresDB(t)
	if pgURL == "" {
		t.Logf("the successful PostgreSQL cases do not run: %s", why)
	} else {
		kvURL := pgURL
		cases = append(cases,
			secretCase{"trusted postgres put", `{"a":1}`, pg(kvURL, "put", "k"), nil, true},
			secretCase{"trusted postgres list", "", pg(kvURL, "list"), nil, true},
			secretCase{"trusted postgres missing key", "", pg(kvURL, "get", "key", "nope"), nil, false},
			secretCase{"trusted postgres version mismatch", `2`, pg(kvURL, "put", "k", "--version=9"), nil, false},
			secretCase{"trusted postgres task new", `{"n":1}`, pg(kvURL, "task", "new", "log"), nil, true},
			secretCase{"trusted postgres task run", "", pg(kvURL, "task", "run", "--idle-exit", "--log-level=debug"), nil, true},
			secretCase{"trusted postgres task run json log", "", pg(kvURL, "task", "run", "--idle-exit", "--log-level=debug", "--log-format=json"), nil, true},
			secretCase{"trusted postgres consumer stream", "", pg(kvURL, "consumer", "stream", "c", "--idle-exit=1s", "--log-level=debug"), nil, true},
			secretCase{"trusted postgres via KV_CONNECTION", "", []string{"count", "all"}, []string{"KV_TYPE=postgres", "KV_CONNECTION=" + kvURL}, true},
			secretCase{"trusted postgres keyword/value", "", []string{"--type=postgres", "--connection=" + keywordForm(t, kvURL), "count", "all"}, nil, true},
		)
	}

	t.Logf("%d secrets cases", len(cases))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runKV(t, dir, c.stdin, c.env, c.args...)
			if c.ok && r.code != 0 {
				t.Errorf("exit %d, want 0 (stderr %.300q)", r.code, r.stderr)
			}
			if !c.ok && r.code == 0 {
				t.Errorf("exit 0, want an error (stdout %.300q)", r.stdout)
			}
			if s := leaks(r.stdout); s != "" {
				t.Errorf("stdout shows %q: %s", s, r.stdout)
			}
			if s := leaks(r.stderr); s != "" {
				t.Errorf("stderr shows %q: %s", s, r.stderr)
			}
			if panicked(r.stderr) {
				t.Errorf("stderr shows a panic: %.600q", r.stderr)
			}
		})
	}
}

// keywordForm turns a postgres:// URL into keyword/value form.
func keywordForm(t *testing.T, s string) string {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	return "host=" + u.Hostname() + " port=" + u.Port() + " user=" + u.User.Username() +
		" password=" + pw + " dbname=" + strings.TrimPrefix(u.Path, "/") + " sslmode=disable"
}

// TestBackendOpenErrorsHideSecrets: the errors of postgreskv.Open and
// rqlitekv.Open (and of a first use, for an rqlite store that does not
// connect on Open) never contain the password.
func TestBackendOpenErrorsHideSecrets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pgConns := []string{
		"postgres://postgres:" + secret + "@127.0.0.1:1/db",
		"postgres://postgres:" + url.QueryEscape(specialSecret) + "@127.0.0.1:1/db",
		"postgres://postgres@127.0.0.1:1/db?password=" + secret,
		"host=127.0.0.1 port=1 user=postgres password=" + secret + " dbname=db",
		"host=127.0.0.1 port=1 user=postgres password='" + specialSecret + "' dbname=db",
		"postgres://postgres:" + secret + "%zz@127.0.0.1:1/db",
		"postgres://postgres:" + secret + "@127.0.0.1:1/db?sslmode=sometimes",
		"postgres://postgres:" + secret + "@127.0.0.1:99999/db",
		"postgres://postgres:" + secret + "@127.0.0.1:5432/badinput_no_such_db?sslmode=disable",
		"postgres://badinput_no_such_role:" + secret + "@127.0.0.1:5432/postgres?sslmode=disable",
		"mysql://root:" + secret + "@127.0.0.1/db",
		"host=127.0.0.1 password=" + secret + " pool_max_conns=-1",
	}
	for _, conn := range pgConns {
		db, err := postgreskv.Open(ctx, conn)
		if err == nil {
			db.Close()
			t.Errorf("postgreskv.Open(%s): no error", redacted(conn))
			continue
		}
		if s := leaks(err.Error()); s != "" {
			t.Errorf("postgreskv.Open error shows %q: %v", s, err)
		}
	}
	rqConns := []string{
		"http://user:" + secret + "@127.0.0.1:1",
		"http://127.0.0.1:1?user=u&password=" + secret,
		"http://u:" + url.QueryEscape(specialSecret) + "@127.0.0.1:1",
		"http://u:" + secret + "@127.0.0.1:1?bogus=1",
		"http://u:" + secret + "@127.0.0.1:1?level=loud",
		"ftp://u:" + secret + "@127.0.0.1:1",
		"http://u:" + secret + "%zz@127.0.0.1:1",
		"http://u:" + secret + "@127.0.0.1:1?timeout=soon",
	}
	for _, conn := range rqConns {
		db, err := rqlitekv.Open(conn)
		if err == nil {
			db.Close()
			t.Errorf("rqlitekv.Open(%s): no error", redacted(conn))
			continue
		}
		if s := leaks(err.Error()); s != "" {
			t.Errorf("rqlitekv.Open error shows %q: %v", s, err)
		}
	}
	// Without cluster discovery Open does not connect: the first use fails.
	db, err := rqlitekv.Open("http://u:" + secret + "@127.0.0.1:1?disableClusterDiscovery=true&timeout=2s&leaderWait=0s")
	if err != nil {
		t.Fatalf("open without discovery: %v", err)
	}
	defer db.Close()
	err = db.Init(ctx)
	if err == nil {
		t.Fatal("Init against a closed port: no error")
	}
	if s := leaks(err.Error()); s != "" {
		t.Errorf("rqlitekv Init error shows %q: %v", s, err)
	}
}

// redacted hides the passwords of a connection string for a test message.
func redacted(conn string) string {
	for _, s := range secretForms {
		conn = strings.ReplaceAll(conn, s, "xxxxx")
	}
	return conn
}

// rqliteWithAuth starts an rqlite that requires basic auth with user and
// password, stopped when t ends, and returns its URL and what it is: a
// real rqlited when a binary is found, else the stand-in (saying why;
// KV_REQUIRE_RQLITED=1 makes that a failure).
func rqliteWithAuth(t *testing.T, user, password string) (string, string) {
	t.Helper()
	kind := "rqlited"
	if _, err := rqlitetest.RqlitedPath(); err != nil {
		kind = "rqlite stand-in"
	}
	return rqlitetest.NewAuthURL(t, user, password), kind
}

// TestSecretCorpusBinary runs the kv binary with the generated corpus of
// connection strings (every form, with the password alone and with each
// separator inserted; package secrettest), each on every backend type and
// through one command path in turn (an error of open, kv status, its JSON,
// the debug logs of kv task run and kv consumer stream, a config file, a
// config file's "name=value" line), and then with the password accepted:
// the trusting local PostgreSQL (a URL and a keyword/value string) and
// the rqlite stand-in with basic auth, running a write, kv status and kv
// task run. Neither stdout nor stderr may show the password or any 4-byte
// part of it.
func TestSecretCorpusBinary(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "kv.conf")
	types := []string{"sqlite", "postgres", "rqlite"}
	paths := []func(typ, conn string) ([]string, []string, string){
		func(typ, conn string) ([]string, []string, string) {
			return []string{"--type=" + typ, "--connection=" + conn, "list"}, nil, ""
		},
		func(typ, conn string) ([]string, []string, string) {
			return []string{"status"}, []string{"KV_TYPE=" + typ, "KV_CONNECTION=" + conn}, ""
		},
		func(typ, conn string) ([]string, []string, string) {
			return []string{"--config=" + conf, "status", "--json"}, nil, "type " + typ + "\nconnection " + conn + "\n"
		},
		func(typ, conn string) ([]string, []string, string) {
			return []string{"--config=" + conf, "list"}, nil, "type " + typ + "\nconnection=" + conn + "\n"
		},
		func(typ, conn string) ([]string, []string, string) {
			return []string{"--type=" + typ, "--connection=" + conn, "task", "run", "--idle-exit", "--log-level=debug"}, nil, ""
		},
		func(typ, conn string) ([]string, []string, string) {
			return []string{"--type=" + typ, "--connection=" + conn, "consumer", "stream", "c", "--idle-exit=1s", "--log-level=debug", "--log-format=json"}, nil, ""
		},
	}
	run := func(pw string, args, env []string, config, name string, ok bool) {
		t.Helper()
		if config != "" {
			if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		r := runKV(t, dir, `{"n":1}`, env, args...)
		if ok && r.code != 0 {
			t.Errorf("%s: exit %d, want 0 (stderr %.300q)", name, r.code, r.stderr)
		}
		if s := secrettest.Leak(r.stdout+r.stderr, pw); s != "" {
			t.Errorf("%s: output shows %q:\nstdout %.500s\nstderr %.500s", name, s, r.stdout, r.stderr)
		}
		if panicked(r.stderr) {
			t.Errorf("%s: stderr shows a panic: %.600q", name, r.stderr)
		}
	}
	n := 0
	for i, pw := range secrettest.Sample() {
		for j, c := range secrettest.Forms(pw) {
			typ := types[(i+j)%len(types)]
			args, env, config := paths[(i+j/len(types))%len(paths)](typ, c.Conn)
			run(pw, args, env, config, fmt.Sprintf("%s %s (%s)", typ, c.Form, redacted(c.Conn)), false)
			n++
		}
	}

	// The password accepted.
	pgURL, why := postgresDB(t)
	if pgURL == "" {
		t.Logf("the PostgreSQL runs with the password accepted do not run: %s", why)
	}
	for _, pw := range secrettest.Sample() {
		var conns [][2]string
		if pgURL != "" {
			u, err := url.Parse(pgURL)
			if err != nil {
				t.Fatal(err)
			}
			u.User = url.UserPassword(u.User.Username(), pw)
			kw := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw)
			conns = append(conns,
				[2]string{"postgres", u.String()},
				[2]string{"postgres", "host=" + u.Hostname() + " port=" + u.Port() + " user=" + u.User.Username() + " password='" + kw + "' dbname=" + strings.TrimPrefix(u.Path, "/") + " sslmode=disable"})
		}
		srv := rqlitetest.Start(t, rqlitetest.WithBasicAuth("admin", pw))
		ru, err := url.Parse(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		ru.User = url.UserPassword("admin", pw)
		conns = append(conns, [2]string{"rqlite", ru.String()})
		for _, c := range conns {
			for _, args := range [][]string{{"put", "k"}, {"status"}, {"task", "run", "--idle-exit", "--log-level=debug"}} {
				run(pw, append([]string{"--type=" + c[0], "--connection=" + c[1]}, args...), nil, "", c[0]+" accepted "+redacted(c[1])+" "+args[0], true)
				n++
			}
		}
	}
	t.Logf("%d runs of kv", n)
}
