package seedtest

import (
	"path/filepath"
	"testing"

	"github.com/kvsuite/kv/backend-postgres/postgrestest"
	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// NewDatabase returns the connection string of a new empty database of
// type typ for the test, removed at its end: a SQLite file in a temporary
// directory; a PostgreSQL database of the test's own (postgrestest.New:
// the test skipped with the reason if there is no server, failed with
// KV_REQUIRE_POSTGRES=1); a real rqlited, or where there is none kv's
// rqlite stand-in, said in the test's log (rqlitetest.NewURL).
func NewDatabase(t testing.TB, typ string) string {
	t.Helper()
	switch typ {
	case "sqlite":
		return "file:" + filepath.Join(t.TempDir(), "ahkv.db") + "?mode=rwc"
	case "postgres":
		return postgrestest.New(t, "kv_test").URL
	case "rqlite":
		return rqlitetest.NewURL(t)
	}
	t.Fatalf("unknown type %q", typ)
	return ""
}
