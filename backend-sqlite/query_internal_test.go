package sqlitekv

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
)

// TestQueryColumnTypes reads rows written around the writer, as another
// program could: a BLOB value reads back as its bytes, and a column that
// holds the wrong type fails the query with an error naming it.
func TestQueryColumnTypes(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ins := "INSERT INTO records (namespace, key, version, type, created, updated, expires, value) VALUES ('', ?, ?, '', 1, 2, ?, ?)"
	if _, err := db.wdb.ExecContext(ctx, ins, "blob", 3, 5_000_000_000_000_000, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	now := time.UnixMicro(10)
	recs, err := db.Query(ctx, driver.Selector{Keys: []string{"blob"}}, now)
	if err != nil || len(recs) != 1 {
		t.Fatalf("Query = %v, %v", recs, err)
	}
	r := recs[0]
	if r.Key != "blob" || r.Version != 3 || string(r.Value) != `{"a":1}` || r.Created != time.UnixMicro(1).UTC() ||
		r.Updated != time.UnixMicro(2).UTC() || r.Expires != time.UnixMicro(5_000_000_000_000_000).UTC() {
		t.Errorf("read %+v", r)
	}
	if _, err := db.wdb.ExecContext(ctx, ins, "bad", "three", nil, "{}"); err != nil {
		t.Fatal(err)
	}
	if recs, err := db.Query(ctx, driver.Selector{}, now); err == nil || !strings.Contains(err.Error(), "column 2") {
		t.Errorf("Query over a TEXT version = %v, %v; want an error naming column 2", recs, err)
	}
}
