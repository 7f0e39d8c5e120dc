package sqlitekv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
)

// TestQueryAfterAndFrom: pages with both a prefix and a cursor return the
// right keys whichever bound is tighter.
func TestQueryAfterAndFrom(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Unix(1000, 0)
	var ops []driver.Op
	for _, k := range []string{"a", "p/0", "p/1", "p/2", "q"} {
		ops = append(ops, driver.Op{Kind: driver.OpPut, Key: k, Version: -1, Value: []byte(`1`)})
	}
	if _, err := db.Apply(ctx, driver.Batch{Ops: ops, Now: now}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		after string
		want  string
	}{{"", "[p/0 p/1 p/2]"}, {"a", "[p/0 p/1 p/2]"}, {"p/0", "[p/1 p/2]"}, {"p/2", "[]"}, {"z", "[]"}} {
		rs, err := db.Query(ctx, driver.Selector{From: "p/", To: "p0", HasTo: true, After: c.after, HasAfter: true}, now)
		if err != nil {
			t.Fatal(err)
		}
		keys := make([]string, len(rs))
		for i, r := range rs {
			keys[i] = r.Key
		}
		if got := fmt.Sprint(keys); got != c.want {
			t.Errorf("after %q: got %s, want %s", c.after, got, c.want)
		}
	}
}
