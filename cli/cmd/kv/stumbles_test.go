package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/seedimport/seedtest"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// TestConnectionNeededForServers: --type postgres or rqlite without a
// connection string says that one is needed, and never uses SQLite's
// default file.
func TestConnectionNeededForServers(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	conf := filepath.Join(dir, "kv.conf")
	if err := os.WriteFile(conf, []byte("type postgres\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, typ string
		args, env []string
	}{
		{"flag", "postgres", []string{"--type", "postgres", "list"}, nil},
		{"flag, a write", "rqlite", []string{"put", "k", "--type=rqlite"}, nil},
		{"KV_TYPE", "rqlite", []string{"get", "key", "k"}, []string{"KV_TYPE", "rqlite"}},
		{"config file", "postgres", []string{"count", "all", "--config", conf}, nil},
	} {
		for i := 0; i < len(c.env); i += 2 {
			t.Setenv(c.env[i], c.env[i+1])
		}
		r := kv(t, `{}`, c.args...)
		want := "connection string is empty: --type " + c.typ + " needs one (set --connection or KV_CONNECTION), e.g. --connection '"
		if r.code != 2 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "data.db") {
			t.Errorf("%s: exit %d, stderr %q", c.name, r.code, r.stderr)
		}
		clearEnv(t)
	}
	// A connection from the environment is used, not refused as empty. Its
	// server refuses every request at once (401), so that the driver does
	// not retry for its leader wait as it would on a refused connection.
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}))
	defer refusing.Close()
	t.Setenv("KV_CONNECTION", refusing.URL+"?disableClusterDiscovery=true&timeout=1s")
	if r := kv(t, "", "--type=rqlite", "count", "all"); r.code != 1 || strings.Contains(r.stderr, "connection string is empty") {
		t.Errorf("KV_CONNECTION: exit %d, stderr %q", r.code, r.stderr)
	}
	clearEnv(t)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the refused commands left %v", entries)
	}
	// SQLite keeps its default: data.db here.
	if out := mustKV(t, "", "init"); !regexp.MustCompile(`^created kv's schema \(version [0-9]+\) in sqlite file:data.db\?mode=rwc\n$`).MatchString(out) {
		t.Errorf("init: %q", out)
	}
	if !fileExists(filepath.Join(dir, "data.db")) {
		t.Error("init made no data.db")
	}
}

// readOnlyCommands are commands that only read, one of each kind, with
// their arguments.
var readOnlyCommands = [][]string{
	{"get", "key", "k"}, {"get", "prefix", "k"}, {"get", "batch", "k"}, {"list"}, {"count", "all"},
	{"stream", "get"}, {"stream", "seq"}, {"consumer", "status", "c"}, {"lock", "status", "l"},
	{"task", "list"}, {"task", "get", "t"}, {"graph", "get-outgoing", "User", "alice"}, {"export"}, {"status"},
}

// TestReadsNeverWrite: on a database without kv's schema, every command
// that only reads fails, saying that the database is not initialised and
// that kv init does it, and leaves it as it was; kv init then says what it
// did. On every backend.
func TestReadsNeverWrite(t *testing.T) {
	for _, typ := range []string{"sqlite", "postgres", "rqlite"} {
		t.Run(typ, func(t *testing.T) {
			var conn string
			switch typ {
			case "sqlite":
				clearEnv(t)
				path := filepath.Join(t.TempDir(), "empty.db")
				if err := os.WriteFile(path, nil, 0o600); err != nil { // an empty SQLite database
					t.Fatal(err)
				}
				conn = "file:" + path + "?mode=rwc"
			case "postgres":
				conn = strings.TrimPrefix(postgresConn(t), "--connection=")
			case "rqlite":
				clearEnv(t)
				conn = seedtest.NewDatabase(t, "rqlite")
			}
			flags := []string{"--type=" + typ, "--connection=" + conn}
			for _, cmd := range readOnlyCommands {
				r := kv(t, "", append(cmd, flags...)...)
				if r.code != 1 || !strings.Contains(r.stderr, "the database is not initialised (it has no kv schema): run kv init to create it; a command that only reads never does") {
					t.Errorf("kv %q on an empty database: exit %d, stderr %q", cmd, r.code, r.stderr)
				}
			}
			if v := schemaVersion(t, typ, conn); v != 0 {
				t.Fatalf("the read commands created the schema (version %d)", v)
			}
			out := mustKV(t, "", append([]string{"init"}, flags...)...)
			if !strings.HasPrefix(out, "created kv's schema (version ") || !strings.Contains(out, ") in "+typ+" ") {
				t.Errorf("init: %q", out)
			}
			var again initJSON
			if err := json.Unmarshal([]byte(mustKV(t, "", append([]string{"init", "--json"}, flags...)...)), &again); err != nil {
				t.Fatal(err)
			}
			if v := schemaVersion(t, typ, conn); again.Action != "none" || again.From != v || again.Version != v || v == 0 || again.Type != typ {
				t.Errorf("init again: %+v (schema version %d)", again, v)
			}
			r := kv(t, "", append([]string{"get", "key", "k"}, flags...)...)
			if r.code != 1 || !strings.Contains(r.stderr, "not found") {
				t.Errorf("get key on the initialised database: exit %d, stderr %q", r.code, r.stderr)
			}
		})
	}
}

// TestReadsOnOlderSchema: a read on a database whose schema is older than
// kv needs says that kv init migrates it, and changes nothing; kv init
// says it migrated it.
func TestReadsOnOlderSchema(t *testing.T) {
	conn, path := newDB(t)
	fresh := filepath.Join(t.TempDir(), "fresh.db")
	mustKV(t, "", "init", "--connection=file:"+fresh+"?mode=rwc")
	required := schemaVersion(t, "sqlite", "file:"+fresh)
	old := olderSchema(t, path, required)
	r := kv(t, "", "list", conn)
	if want := "the database's kv schema is at version " + itoa(old) + " and this kv needs version " + itoa(required) + ": run kv init to migrate it"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("list on an older schema: exit %d, stderr %q", r.code, r.stderr)
	}
	if v := schemaVersion(t, "sqlite", "file:"+path); v != old {
		t.Errorf("a read migrated the schema to %d", v)
	}
	if out := mustKV(t, "", "init", conn); !strings.HasPrefix(out, "migrated kv's schema from version "+itoa(old)+" to "+itoa(required)+" in sqlite ") {
		t.Errorf("init: %q", out)
	}
}

// schemaVersion reads the kv schema version of a database (0: none).
func schemaVersion(t *testing.T, typ, conn string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := open.Open(ctx, open.Config{Type: typ, Connection: conn})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	v, _, err := b.Store.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// olderSchema makes a SQLite database at path whose kv schema stops one
// step short of version v, as an older kv left it: it applies the
// migration files of the SQLite dialect (sqlitedialect) before v and
// records them as the SQLite backend does (versions may leave gaps). It returns the version it stopped at.
func olderSchema(t *testing.T, path string, v int) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "sqlitedialect", "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations of the SQLite dialect: %v (%d files)", err, len(files))
	}
	sort.Strings(files)
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rwc")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	older := 0
	if _, err := db.Exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sql")
		num, _, _ := strings.Cut(name, "_")
		fv, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if fv >= v {
			break
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := db.Exec("INSERT INTO schema_migrations VALUES (?, ?, 0)", fv, name); err != nil {
			t.Fatal(err)
		}
		older = fv
	}
	return older
}
