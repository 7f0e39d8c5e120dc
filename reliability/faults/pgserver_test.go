package faults_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// pgServer is a private PostgreSQL instance in a temporary directory,
// started for one test and removed when it ends: it may be restarted and
// have its connections killed without disturbing anyone else's server.
type pgServer struct {
	bin     string // the directory of initdb, pg_ctl and postgres
	dir     string // the temporary directory: data, socket and log
	port    int
	asUser  string // run the binaries as this user ("" for the current one)
	started bool
}

// pgBinDir finds the PostgreSQL server binaries: $KV_POSTGRES_BIN, the
// newest /usr/lib/postgresql/*/bin, or the directory of initdb on PATH.
func pgBinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("KV_POSTGRES_BIN"); dir != "" {
		if !has(dir) {
			return "", fmt.Errorf("KV_POSTGRES_BIN=%s has no initdb, pg_ctl and postgres", dir)
		}
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl, postgres) in /usr/lib/postgresql/*/bin or on PATH; set KV_POSTGRES_BIN")
}

// pgMajor is the major version in a /usr/lib/postgresql/<n>/bin path.
func pgMajor(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// startPrivatePostgres initdb's and starts a private server on a free
// loopback port, stopped and removed when t ends (also on failure). It
// skips t, saying why, when no server binaries are found, unless
// KV_REQUIRE_POSTGRES=1.
func startPrivatePostgres(t *testing.T) *pgServer {
	t.Helper()
	bin, err := pgBinDir()
	if err != nil {
		skipOrFail(t, "KV_REQUIRE_POSTGRES", err.Error())
	}
	dir, err := os.MkdirTemp("", "kv-faults-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s := &pgServer{bin: bin, dir: dir}
	t.Cleanup(func() {
		if s.started {
			if out, err := s.ctl("stop", "-m", "immediate"); err != nil {
				t.Errorf("stopping the private PostgreSQL server: %v\n%s", err, out)
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	// initdb and postgres refuse to run as root: run them as postgres.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			skipOrFail(t, "KV_REQUIRE_POSTGRES", "running as root and there is no postgres user to run the server as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		s.asUser = "postgres"
	}
	if out, err := s.run("initdb", "-D", s.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "-N"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	// Another process may take the free port before the server does: try
	// a few.
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			t.Fatal(err)
		}
		out, err := s.ctl("start")
		if err == nil {
			s.started = true
			break
		}
		if attempt == 2 {
			t.Fatalf("pg_ctl start: %v\n%s\nlog:\n%s", err, out, s.logTail())
		}
	}
	return s
}

// data is the server's data directory.
func (s *pgServer) data() string { return filepath.Join(s.dir, "data") }

// url is the connection string of database db on the server.
func (s *pgServer) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// run runs the server binary name with args (as s.asUser if set).
func (s *pgServer) run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	switch {
	case s.asUser == "":
		cmd = exec.CommandContext(ctx, path, args...)
	case haveCommand("runuser"):
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", s.asUser, "--", path}, args...)...)
	default:
		quoted := []string{shellQuote(path)}
		for _, a := range args {
			quoted = append(quoted, shellQuote(a))
		}
		cmd = exec.CommandContext(ctx, "su", "-s", "/bin/sh", s.asUser, "-c", strings.Join(quoted, " "))
	}
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ctl runs pg_ctl action (start, stop, restart) with extra arguments,
// waiting for it to complete.
func (s *pgServer) ctl(action string, extra ...string) (string, error) {
	args := []string{action, "-D", s.data(), "-w", "-t", "60"}
	if action != "stop" {
		args = append(args, "-l", filepath.Join(s.dir, "server.log"),
			"-o", fmt.Sprintf("-k %s -c listen_addresses=127.0.0.1 -p %d", s.dir, s.port))
	}
	return s.run("pg_ctl", append(args, extra...)...)
}

// restart restarts the server with shutdown mode ("fast" or "immediate")
// and returns how long it was down (from the call until pg_ctl saw it up).
func (s *pgServer) restart(mode string) (time.Duration, error) {
	start := time.Now()
	out, err := s.ctl("restart", "-m", mode)
	if err != nil {
		return 0, fmt.Errorf("pg_ctl restart -m %s: %v\n%s\nlog:\n%s", mode, err, out, s.logTail())
	}
	return time.Since(start), nil
}

// terminateClients kills every client backend connected to database db
// (pg_terminate_backend) and returns how many it killed.
func (s *pgServer) terminateClients(ctx context.Context, db string) (int, error) {
	conn, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
		FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`, db).Scan(&n)
	return n, err
}

// logTail returns the end of the server's log.
func (s *pgServer) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	addr, err := rqlitetest.FreeAddr()
	if err != nil {
		return 0, err
	}
	_, port, _ := net.SplitHostPort(addr)
	return strconv.Atoi(port)
}

// haveCommand reports whether name is on PATH.
func haveCommand(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
