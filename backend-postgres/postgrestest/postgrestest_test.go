package postgrestest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kvsuite/kv/backend-postgres/postgrestest"
)

// TestNewDropsAtEnd: New makes a database that answers at its URL and at
// its DSN, and is gone once the test that asked for it has ended.
func TestNewDropsAtEnd(t *testing.T) {
	var name string
	t.Run("owner", func(t *testing.T) {
		pg := postgrestest.New(t, "pgtest")
		name = pg.Name
		ctx := context.Background()
		for _, conn := range []string{pg.URL, pg.DSN} {
			c, err := pgx.Connect(ctx, conn)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			err = c.QueryRow(ctx, "SELECT current_database()").Scan(&got)
			c.Close(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got != pg.Name {
				t.Fatalf("%s connected to %q, want %q", conn, got, pg.Name)
			}
		}
	})
	if name == "" {
		t.Skip("no server: the owner test skipped")
	}
	url, _ := postgrestest.ServerURL()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

// TestNoServerReason: without a server TryNew returns no database and a
// reason that names where the server was looked for, without its password.
func TestNoServerReason(t *testing.T) {
	t.Setenv("KV_REQUIRE_POSTGRES", "")
	t.Setenv("KV_TEST_POSTGRES_URL", "postgres://postgres:Hush3d@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	db, why := postgrestest.TryNew(t, "pgtest")
	if db != nil {
		t.Fatalf("a database %s on a port nothing listens on", db.Name)
	}
	if !strings.Contains(why, "KV_TEST_POSTGRES_URL") || strings.Contains(why, "Hush3d") {
		t.Fatalf("reason %q: want where the server came from, and no password", why)
	}
}
