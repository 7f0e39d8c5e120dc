package postgrestest_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/backend-postgres/postgrestest"
)

// A test that wants a database of its own asks New for one: it is dropped
// when the test ends, and the test skips (or fails, under
// KV_REQUIRE_POSTGRES=1) where no server answers.
func ExampleNew() {
	_ = func(t *testing.T) {
		pg := postgrestest.New(t, "mytest")
		db, err := postgreskv.Open(context.Background(), pg.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// ... db.Init, then the test ...
	}
}

// A test run that shares one database makes it in TestMain with ForRun,
// and its tests skip with the reason ForRun gave where there is none.
func ExampleForRun() {
	var skip string // why the PostgreSQL tests skip ("" if a server answers)
	_ = func(m *testing.M) int {
		ctx := context.Background()
		pg, reason, err := postgrestest.ForRun(ctx, "mytests")
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			return 1
		}
		if pg == nil {
			skip = reason
			return m.Run()
		}
		defer pg.Drop(ctx)
		// ... keep pg.URL for the tests ...
		return m.Run()
	}
	_ = func(t *testing.T) {
		postgrestest.Skip(t, skip)
		// ... the test, on the shared database ...
	}
}
