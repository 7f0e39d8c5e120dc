package seedtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// NewDatabase returns the connection string of a new empty database of
// type typ for the test, removed at its end: a SQLite file in a temporary
// directory; a PostgreSQL database on KV_TEST_POSTGRES_URL's server (or
// 127.0.0.1:5432, user postgres), the test skipped with a printed reason
// if there is none (failed with KV_REQUIRE_POSTGRES=1); a real rqlited
// (see rqlitetest.RqlitedPath), or where there is none kv's rqlite
// stand-in, said in the test's log.
func NewDatabase(t testing.TB, typ string) string {
	t.Helper()
	switch typ {
	case "sqlite":
		return "file:" + filepath.Join(t.TempDir(), "ahkv.db") + "?mode=rwc"
	case "postgres":
		return newPostgres(t)
	case "rqlite":
		bin, err := rqlitetest.RqlitedPath()
		if err != nil {
			t.Logf("rqlite: using rqlitetest, the in-process STAND-IN for an rqlite server (%v)", err)
			return rqlitetest.Start(t).URL
		}
		n, err := rqlitetest.StartNode(bin, t.TempDir(), "n1", "")
		if err != nil {
			t.Fatalf("start rqlited: %v", err)
		}
		t.Cleanup(n.Stop)
		return n.URL()
	}
	t.Fatalf("unknown type %q", typ)
	return ""
}

// newPostgres creates a throwaway PostgreSQL database.
func newPostgres(t testing.TB) string {
	admin := os.Getenv("KV_TEST_POSTGRES_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		if os.Getenv("KV_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("KV_REQUIRE_POSTGRES=1 but no PostgreSQL server: %v", err)
		}
		t.Skipf("SKIP: no PostgreSQL server (set KV_TEST_POSTGRES_URL): %v", err)
	}
	defer c.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "kv_test_" + hex.EncodeToString(b)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg := c.Config().Copy()
	cfg.Database = name
	return "postgres://" + cfg.User + "@" + cfg.Host + ":" + strconv.Itoa(int(cfg.Port)) + "/" + name + "?sslmode=disable"
}
