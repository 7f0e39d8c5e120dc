package integration_test

import (
	"context"
	"testing"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph/kvgraphtest"
)

// TestKVGraph runs kvgraph's suite on every backend: a SQLite file, a
// PostgreSQL schema and an rqlite namespace per test.
func TestKVGraph(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		kvgraphtest.Run(t, func(t *testing.T) *kvcore.Store { return openT(t, b.newPlace(t)).store })
	})
}

// TestKVGraphSQLiteMemory runs kvgraph's suite on in-memory SQLite
// databases (one connection, no file).
func TestKVGraphSQLiteMemory(t *testing.T) {
	kvgraphtest.Run(t, func(t *testing.T) *kvcore.Store {
		db, err := sqlitekv.OpenMemory()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if err := db.Init(context.Background()); err != nil {
			t.Fatal(err)
		}
		store, err := db.Store(kvcore.WithSweepInterval(0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = store.Close() })
		return store
	})
}
