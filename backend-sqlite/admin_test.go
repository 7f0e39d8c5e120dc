package sqlitekv

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

// TestAdminSchemaVersion: 0 before Init (no schema yet, no error), the
// driver's version after it; ErrClosed after Close.
func TestAdminSchemaVersion(t *testing.T) {
	ctx := context.Background()
	db, err := Open("file:" + filepath.Join(t.TempDir(), "kv.db") + "?mode=rwc")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if a, r, err := db.SchemaVersion(ctx); err != nil || a != 0 || r != latestVersion() || r < 3 {
		t.Errorf("before Init: %d, %d, %v; want 0, %d", a, r, err, latestVersion())
	}
	if err := db.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if a, r, err := db.SchemaVersion(ctx); err != nil || a != latestVersion() || r != latestVersion() {
		t.Errorf("after Init: %d, %d, %v; want %d twice", a, r, err, latestVersion())
	}
	if db.NotifiesOtherProcesses() {
		t.Error("SQLite's notifications are in-process only")
	}
	_ = db.Close()
	if _, _, err := db.SchemaVersion(ctx); !errors.Is(err, coredriver.ErrClosed) {
		t.Errorf("SchemaVersion after Close: %v", err)
	}
	if _, err := db.Namespaces(ctx, time.Now()); !errors.Is(err, coredriver.ErrClosed) {
		t.Errorf("Namespaces after Close: %v", err)
	}
	if _, err := db.HeldLeases(ctx, lockdriver.NameRange{}, time.Now()); !errors.Is(err, coredriver.ErrClosed) {
		t.Errorf("HeldLeases after Close: %v", err)
	}
}

// TestAdminPlans: listing namespaces seeks the index once per namespace (no
// scan of the records beyond the first row) and listing leases searches a
// range of their primary key.
func TestAdminPlans(t *testing.T) {
	db := openTest(t)
	p := queryPlan(t, db, sqlitedialect.Namespaces, 1)
	if !strings.Contains(p, "(namespace>?)") || !strings.Contains(p, "USING PRIMARY KEY (namespace=?)") {
		t.Errorf("namespaces:\n%s", p)
	}
	p = queryPlan(t, db, "SELECT name, owner, token, expires FROM leases WHERE name >= ? AND owner != '' AND expires > ? AND name < ? ORDER BY name", "a", 1, "b")
	if !strings.Contains(p, "SEARCH leases USING PRIMARY KEY (name>? AND name<?)") {
		t.Errorf("leases:\n%s", p)
	}
}
