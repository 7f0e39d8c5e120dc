package sqlitekv_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kvsuite/kv/conformance"
	"github.com/kvsuite/kv/kvcore/driver"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
)

// openInit opens a fresh database with Open(dsn), runs Init and closes it
// at the end of the test.
func openInit(t testing.TB, dsn string, opts ...sqlitekv.Option) *sqlitekv.DB {
	t.Helper()
	db, err := sqlitekv.Open(dsn, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Init(context.Background()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return db
}

func TestConformanceFile(t *testing.T) {
	conformance.RunStore(t, func(t *testing.T) driver.Store {
		return openInit(t, "file:"+filepath.Join(t.TempDir(), "kv.db")+"?mode=rwc")
	})
}

func TestConformanceMemory(t *testing.T) {
	conformance.RunStore(t, func(t *testing.T) driver.Store {
		return openInit(t, ":memory:")
	})
}

func TestConformanceLocker(t *testing.T) {
	conformance.RunLocker(t, func(t *testing.T) conformance.Backend {
		db := openInit(t, "file:"+filepath.Join(t.TempDir(), "kv.db")+"?mode=rwc")
		return conformance.Backend{Store: db, Locker: db}
	})
}

func TestConformanceStream(t *testing.T) {
	conformance.RunStream(t, func(t *testing.T) conformance.Backend {
		db := openInit(t, "file:"+filepath.Join(t.TempDir(), "kv.db")+"?mode=rwc")
		return conformance.Backend{Store: db, Locker: db, Stream: db}
	})
}

func TestConformanceStreamMemory(t *testing.T) {
	conformance.RunStream(t, func(t *testing.T) conformance.Backend {
		db := openInit(t, ":memory:")
		return conformance.Backend{Store: db, Locker: db, Stream: db}
	})
}

func TestQueueConformance(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		conformance.RunQueue(t, func(t *testing.T) conformance.Backend {
			db := openInit(t, "file:"+filepath.Join(t.TempDir(), "kv.db")+"?mode=rwc")
			return conformance.Backend{Store: db, Locker: db, Stream: db, Queue: db}
		})
	})
	t.Run("Memory", func(t *testing.T) {
		conformance.RunQueue(t, func(t *testing.T) conformance.Backend {
			db := openInit(t, ":memory:")
			return conformance.Backend{Store: db, Locker: db, Stream: db, Queue: db}
		})
	})
}
