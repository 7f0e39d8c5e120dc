package sqlitekv

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// TestGroupWithoutSavepoints runs a group of plain requests (Apply batches,
// which share the transaction without savepoints) in which one batch fails
// after its first op wrote: the writer must undo that batch alone, so the
// group runs again with savepoints and the neighbours still commit.
func TestGroupWithoutSavepoints(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Now()
	put := func(key string, version int64) driver.Op {
		return driver.Op{Kind: driver.OpPut, Key: key, Version: version, Value: []byte(`1`)}
	}
	apply := func(ops ...driver.Op) *request {
		b := driver.Batch{Ops: ops, Now: now}
		return &request{ctx: ctx, plain: plainBatch(b), done: make(chan error, 1), fn: func(w *wtx) error {
			_, err := w.apply(b)
			return err
		}}
	}
	cases := []struct {
		name    string
		group   []*request
		wantErr []error // nil: succeeds
		keys    []string
	}{
		{
			name:    "fails after writing",
			group:   []*request{apply(put("a", -1)), apply(put("b", -1), put("c", 5)), apply(put("d", -1))},
			wantErr: []error{nil, driver.ErrVersionMismatch, nil},
			keys:    []string{"a", "d"},
		},
		{
			name:    "fails before writing",
			group:   []*request{apply(put("e", -1)), apply(put("a", 7)), apply(put("f", -1))},
			wantErr: []error{nil, driver.ErrVersionMismatch, nil},
			keys:    []string{"a", "d", "e", "f"},
		},
	}
	for _, tc := range cases {
		// The writer goroutine is idle (nothing submitted), so the test
		// can run a group itself.
		db.runGroup(tc.group)
		for i, r := range tc.group {
			if err := <-r.done; !errors.Is(err, tc.wantErr[i]) || (err == nil) != (tc.wantErr[i] == nil) {
				t.Errorf("%s: request %d: %v, want %v", tc.name, i, err, tc.wantErr[i])
			}
		}
		recs, err := db.queryRecords(ctx, "", "SELECT "+recordColumns+" FROM records WHERE namespace = ? ORDER BY key", []any{""}, false)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range recs {
			keys = append(keys, r.Key)
		}
		if len(keys) != len(tc.keys) {
			t.Fatalf("%s: keys %v, want %v", tc.name, keys, tc.keys)
		}
		for i := range keys {
			if keys[i] != tc.keys[i] {
				t.Fatalf("%s: keys %v, want %v", tc.name, keys, tc.keys)
			}
		}
	}
	entries, _, _, err := db.Read(ctx, streamdriver.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Key)
	}
	if want := "[a d e f]"; fmt.Sprint(got) != want {
		t.Errorf("stream keys %v, want %s: a failed batch left a change", got, want)
	}
}
