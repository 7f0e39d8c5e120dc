package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestEnvironmentVariables(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	envDB := filepath.Join(dir, "env.db")
	flagDB := filepath.Join(dir, "flag.db")
	t.Setenv("KV_CONNECTION", "file:"+envDB+"?mode=rwc")
	t.Setenv("KV_NAMESPACE", "envns")

	mustKV(t, `"from env"`, "put", "k")
	if !fileExists(envDB) {
		t.Fatal("KV_CONNECTION was not used")
	}
	// The namespace came from KV_NAMESPACE: the default namespace is empty.
	if out := mustKV(t, "", "count", "all", "--namespace="); out != "0\n" {
		t.Errorf("default namespace count = %q, want 0", out)
	}
	if out := mustKV(t, "", "count", "all"); out != "1\n" {
		t.Errorf("KV_NAMESPACE count = %q, want 1", out)
	}
	// A flag wins over the environment, before or after the command.
	mustKV(t, `"from flag"`, "--connection", "file:"+flagDB+"?mode=rwc", "put", "k")
	if !fileExists(flagDB) {
		t.Fatal("--connection did not win over KV_CONNECTION")
	}
	if out := mustKV(t, "", "count", "all", "--connection", "file:"+flagDB+"?mode=rwc"); out != "1\n" {
		t.Errorf("count in flag db = %q", out)
	}

	t.Setenv("KV_TYPE", "cassandra")
	r := kv(t, "", "list")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown store type "cassandra"`) {
		t.Errorf("KV_TYPE=cassandra: exit %d stderr %q", r.code, r.stderr)
	}
	if r := kv(t, "", "list", "--type", "sqlite"); r.code != 0 {
		t.Errorf("--type sqlite did not win over KV_TYPE: %+v", r)
	}
}

func TestConfigFile(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	cfgDB := filepath.Join(dir, "cfg.db")
	envDB := filepath.Join(dir, "env.db")
	cfg := filepath.Join(dir, "kv.conf")
	text := "# kv settings\ntype sqlite\nconnection file:" + cfgDB + "?mode=rwc\nnamespace cfgns\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	mustKV(t, `1`, "put", "k", "--config", cfg)
	if !fileExists(cfgDB) {
		t.Fatal("the config file's connection was not used")
	}
	// KV_CONFIG names the file too; the namespace came from it.
	t.Setenv("KV_CONFIG", cfg)
	if out := mustKV(t, "", "count", "all"); out != "1\n" {
		t.Errorf("count with KV_CONFIG = %q, want 1", out)
	}
	if out := mustKV(t, "", "count", "all", "--namespace", ""); out != "0\n" {
		t.Errorf("--namespace \"\" did not win over the config file: count %q", out)
	}
	// The environment wins over the config file.
	t.Setenv("KV_CONNECTION", "file:"+envDB+"?mode=rwc")
	mustKV(t, "", "init")
	if out := mustKV(t, "", "count", "all"); out != "0\n" {
		t.Errorf("count with KV_CONNECTION over the config = %q, want 0", out)
	}
	if !fileExists(envDB) {
		t.Error("KV_CONNECTION did not win over the config file")
	}

	t.Setenv("KV_CONFIG", "")
	t.Setenv("KV_CONNECTION", "")
	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, []byte("colour blue\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		file, want string
	}{
		{filepath.Join(dir, "missing.conf"), "it does not exist"},
		{bad, `line 1: not "name value" with a known name`},
	} {
		r := kv(t, "", "list", "--config", tt.file)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, tt.file) {
			t.Errorf("--config %s: exit %d stderr %q", tt.file, r.code, r.stderr)
		}
	}
}

func TestReadOnlyConnection(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	r := kv(t, "", "list", "--connection", "file:"+missing+"?mode=ro")
	if r.code != 1 || !strings.Contains(r.stderr, "does not exist") || !strings.Contains(r.stderr, "mode=ro") {
		t.Errorf("mode=ro on a missing file: exit %d stderr %q", r.code, r.stderr)
	}
	if fileExists(missing) {
		t.Error("mode=ro created the database")
	}

	path := filepath.Join(dir, "data.db")
	mustKV(t, `{"a":1}`, "put", "k", "--connection", "file:"+path+"?mode=rwc")
	ro := "--connection=file:" + path + "?mode=ro"
	if rs := records(t, mustKV(t, "", "get", "key", "k", ro)); len(rs) != 1 {
		t.Errorf("read on mode=ro: %d records", len(rs))
	}
	if out := mustKV(t, "", "count", "all", ro); out != "1\n" {
		t.Errorf("count on mode=ro = %q", out)
	}
	for _, args := range [][]string{{"put", "k2"}, {"delete", "k"}, {"init"}} {
		r := kv(t, `{}`, append(args, ro)...)
		if r.code != 1 || !strings.Contains(r.stderr, "read-only") {
			t.Errorf("kv %q on mode=ro: exit %d stderr %q", args, r.code, r.stderr)
		}
	}
	if out := mustKV(t, "", "count", "all", ro); out != "1\n" {
		t.Errorf("count after refused writes = %q", out)
	}
}

func TestPasswordsNeverPrinted(t *testing.T) {
	clearEnv(t)
	const secret = "s3cr3t-Pa55"
	for _, args := range [][]string{
		{"list", "--type", "postgres", "--connection", "postgres://kv:" + secret + "@127.0.0.1:1/kv?sslmode=disable&connect_timeout=5"},
		{"list", "--type", "rqlite", "--connection", "http://127.0.0.1:1?user=admin&password=" + secret},
		{"list", "--type", "postgres", "--connection", "host=127.0.0.1 port=1 connect_timeout=5 password=" + secret},
		{"list", "--connection", "file:" + filepath.Join(t.TempDir(), "x.db") + "?mode=rwc&_busy_timeout=5&password=" + secret},
		{"list", "--connection", "file:/nonexistent-dir/x.db?mode=ro&password=" + secret},
	} {
		r := kv(t, "", args...)
		if r.code == 0 {
			t.Errorf("kv %q succeeded", args)
		}
		if strings.Contains(r.stderr+r.stdout, secret) {
			t.Errorf("kv %q printed the password: %s", args, r.stderr)
		}
	}
	t.Setenv("KV_CONNECTION", "postgres://kv:"+secret+"@127.0.0.1:1/kv")
	r := kv(t, "", "list", "--type", "postgres")
	if r.code == 0 || strings.Contains(r.stderr, secret) || !strings.Contains(r.stderr, "postgres://kv:xxxxx@127.0.0.1:1/kv") {
		t.Errorf("KV_CONNECTION with password: stderr %q", r.stderr)
	}
}

// TestConfigFileErrorsQuoteNothing: a config file line that is not "name
// value" with a known name, a quoted value and a name without a value are
// errors naming the line and what is wrong, never quoting the line (it may
// hold a connection string).
func TestConfigFileErrorsQuoteNothing(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	const pw = "S3cr3tZq"
	for text, want := range map[string]string{
		"connection=postgres://u:" + pw + "@h/db\n":                    `line 1: want "connection" followed by a space and the value, not "="`,
		"# a comment\n\ntype sqlite\nconnection \"file:" + pw + "\"\n": "line 4: the value of connection is quoted",
		"type sqlite\nconection postgres://u:" + pw + "@h/db\n":        `line 2: not "name value" with a known name (want one of type, connection, namespace, config, log-format, log-level)`,
		"connection\n":                   "line 1: connection has no value",
		"postgres://u:" + pw + "@h/db\n": `line 1: not "name value" with a known name`,
	} {
		cfg := filepath.Join(dir, "kv.conf")
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		r := kv(t, "", "list", "--config", cfg)
		if r.code != 2 || !strings.Contains(r.stderr, "kv: config file "+strconv.Quote(cfg)+" "+want) || strings.Contains(r.stderr, "S3cr") {
			t.Errorf("config %q: exit %d stderr %q, want %q", text, r.code, r.stderr, want)
		}
	}
	// Inline comments are ff's: " #" ends the value.
	cfg := filepath.Join(dir, "ok.conf")
	db := filepath.Join(dir, "data.db")
	if err := os.WriteFile(cfg, []byte("connection file:"+db+"?mode=rwc # the store\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustKV(t, "", "init", "--config", cfg)
	if !fileExists(db) {
		t.Error("the config file's connection (with a comment after it) was not used")
	}
}
