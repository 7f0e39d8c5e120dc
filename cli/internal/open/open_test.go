package open

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckType(t *testing.T) {
	for _, typ := range Types {
		if err := CheckType(typ); err != nil {
			t.Errorf("CheckType(%q) = %v", typ, err)
		}
	}
	for _, typ := range []string{"", "SQLite", "mysql"} {
		err := CheckType(typ)
		if !errors.Is(err, ErrUnknownType) || !strings.Contains(err.Error(), "sqlite, postgres, rqlite") {
			t.Errorf("CheckType(%q) = %v", typ, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		cfg    Config
		is     error
		secret string
	}{
		{Config{Type: "mysql", Connection: "x"}, ErrUnknownType, ""},
		{Config{Type: "postgres", Connection: "postgres://u:hunter22@127.0.0.1:1/db?connect_timeout=5"}, nil, "hunter22"},
		{Config{Type: "rqlite", Connection: "http://127.0.0.1:1?user=u&password=hunter22"}, nil, "hunter22"},
	}
	for _, tt := range tests {
		_, err := Open(ctx, tt.cfg)
		if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
			t.Errorf("Open(%+v) = %v, want %v", tt.cfg.Type, err, tt.is)
		}
		if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
	if _, err := Open(ctx, Config{Type: "sqlite"}); err == nil || !strings.Contains(err.Error(), "connection string is empty") {
		t.Errorf("empty connection: %v", err)
	}
}

func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data.db")
	b, err := Open(ctx, Config{Type: "sqlite", Connection: "file:" + path + "?mode=rwc", Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	if b.ReadOnly || b.Store.NamespaceName() != "ns" {
		t.Errorf("ReadOnly %v namespace %q", b.ReadOnly, b.Store.NamespaceName())
	}
	if err := b.Store.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Store.Put(ctx, "k", -1, []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	b, err = Open(ctx, Config{Type: "sqlite", Connection: "file:" + path + "?mode=ro", Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.ReadOnly {
		t.Error("mode=ro: ReadOnly is false")
	}
	if n, err := b.Store.Count(ctx); err != nil || n != 1 {
		t.Errorf("Count = %d, %v", n, err)
	}
}

// TestDrivers: the SQLite backend has leases and the stream; a backend
// without them says so (no panic).
func TestDrivers(t *testing.T) {
	ctx := context.Background()
	b, err := Open(ctx, Config{Type: "sqlite", Connection: "file:" + filepath.Join(t.TempDir(), "d.db") + "?mode=rwc"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if l, err := b.Locker(); err != nil || l == nil {
		t.Errorf("sqlite Locker() = %v, %v", l, err)
	}
	if s, err := b.Stream(); err != nil || s == nil {
		t.Errorf("sqlite Stream() = %v, %v", s, err)
	}
	if q, err := b.Queue(); err != nil || q == nil {
		t.Errorf("sqlite Queue() = %v, %v", q, err)
	}
	none := &Backend{Store: b.Store, typ: "other", db: struct{}{}}
	if _, err := none.Locker(); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "leases (kv lock): not supported by this backend yet (--type other)") {
		t.Errorf("Locker() without leases = %v", err)
	}
	if _, err := none.Stream(); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "not supported by this backend yet") {
		t.Errorf("Stream() without a stream = %v", err)
	}
	if _, err := none.Queue(); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "tasks (kv task): not supported by this backend yet (--type other)") {
		t.Errorf("Queue() without tasks = %v", err)
	}
}
