package reliability_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/reliability/internal/reltest"
)

// childEnv selects a helper mode: the test binary re-executes itself with
// it set to run a child process (a crashing writer, a lease contender, a
// task runner) instead of the tests.
const childEnv = "KV_RELIABILITY_CHILD"

// defaultPostgresURL is the server used when KV_TEST_POSTGRES_URL is unset.
const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	// pgSkip is why the PostgreSQL parts skip ("" if a server answers).
	pgSkip string
	// pgURL names this run's own database, rel_<random>.
	pgURL string
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	flag.Parse()
	os.Exit(run(m))
}

// run creates this run's PostgreSQL database (if a server answers), runs
// the tests and drops the database.
func run(m *testing.M) int {
	url, source := os.Getenv("KV_TEST_POSTGRES_URL"), "KV_TEST_POSTGRES_URL"
	if url == "" {
		url, source = defaultPostgresURL, "the local default server"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := postgreskv.Open(ctx, url)
	if err != nil {
		pgSkip = fmt.Sprintf("no PostgreSQL server (%s: %v); set KV_TEST_POSTGRES_URL", source, err)
		if os.Getenv("KV_REQUIRE_POSTGRES") == "1" {
			fmt.Fprintln(os.Stderr, "FAIL: KV_REQUIRE_POSTGRES=1 but", pgSkip)
			return 1
		}
		fmt.Println("SKIP (PostgreSQL parts):", pgSkip)
		return m.Run()
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "rel_" + hex.EncodeToString(b)
	if _, err := admin.Pool().Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: create database:", err)
		return 1
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Pool().Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "drop database:", err)
		}
	}()
	cfg := admin.Pool().Config().ConnConfig
	pgURL = fmt.Sprintf("host=%s port=%d dbname=%s user=%s", cfg.Host, cfg.Port, name, cfg.User)
	if cfg.TLSConfig == nil {
		pgURL += " sslmode=disable"
	}
	if cfg.Password != "" {
		pgURL += " password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(cfg.Password) + "'"
	}
	fmt.Printf("reliability: PostgreSQL at %s:%d (from %s), database %s; long form: %t\n", cfg.Host, cfg.Port, source, name, reltest.Long)
	return m.Run()
}

// needPostgres skips t, saying why, when no server answers.
func needPostgres(t testing.TB) {
	t.Helper()
	if pgSkip != "" {
		t.Skip(pgSkip)
	}
}
