package seedimport_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/cli/internal/seedimport"
	"github.com/kvsuite/kv/cli/internal/seedimport/seedtest"
)

// TestRecordsPages: Records reads every row, in key order, across pages,
// whatever the keys hold (text that looks like an rqlite BLOB literal,
// non-ASCII, %, _, quotes), on every backend; Tasks likewise by id.
func TestRecordsPages(t *testing.T) {
	for _, typ := range seedimport.Types {
		t.Run(typ, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			conn := seedtest.NewDatabase(t, typ)
			if err := seedtest.CreateSchema(ctx, typ, conn); err != nil {
				t.Fatal(err)
			}
			w := &seedtest.Writer{Type: typ, Conn: conn}
			now := time.Now()
			var want []string
			for i := range 1203 { // two full pages and a short one
				k := fmt.Sprintf("k/%04d", i)
				switch i % 7 {
				case 1:
					k = fmt.Sprintf("x'%04d", i) // almost what rqlite reads as a BLOB
				case 2:
					k = fmt.Sprintf("ключ/%04d/日本", i)
				case 3:
					k = fmt.Sprintf("50%%_off/%04d", i)
				case 4:
					k = fmt.Sprintf("it's \"%04d\"", i)
				}
				want = append(want, k)
				w.Put(k, fmt.Sprintf(`{"i": %d}`, i), "T", now)
			}
			for i := range 501 {
				w.Task(seedtest.Task{ID: fmt.Sprintf("x'%04d", i), Name: "log", Status: "pending", Payload: []byte(`{}`), Created: now, ScheduledFor: now})
			}
			if err := w.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			src, err := seedimport.Open(ctx, typ, conn)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var got []string
			err = src.Records(ctx, func(r seedimport.Record) error {
				got = append(got, r.Key)
				var v struct{ I int }
				if err := json.Unmarshal(r.Value, &v); err != nil || r.Version != 1 || r.Type != "T" || !r.Created.Equal(now.UTC().Truncate(time.Microsecond)) && !r.Created.Equal(now.UTC()) {
					return fmt.Errorf("record %q = %+v (%v)", r.Key, r, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if typ == "postgres" {
				// The database's collation orders the keys; every key once.
				slices.Sort(got)
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("read %d keys, want %d: first difference at %d", len(got), len(want), firstDiff(got, want))
			}
			n := 0
			if err := src.Tasks(ctx, func(seedimport.Task) error { n++; return nil }); err != nil || n != 501 {
				t.Fatalf("tasks: %d, %v", n, err)
			}
		})
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestOpenNotSeed: a database without a-h/kv's tables is ErrNotSeed, and
// Detect says so, without creating anything.
func TestOpenNotSeed(t *testing.T) {
	ctx := context.Background()
	conn := seedtest.NewDatabase(t, "sqlite")
	if err := seedtest.Exec(ctx, "sqlite", conn, seedtest.Stmt{SQL: "CREATE TABLE kv (key TEXT PRIMARY KEY)"}); err != nil {
		t.Fatal(err)
	}
	if _, err := seedimport.Open(ctx, "sqlite", conn); !errors.Is(err, seedimport.ErrNotSeed) || !strings.Contains(err.Error(), "no table stream, locks") {
		t.Errorf("Open: %v", err)
	}
	if ok, err := seedimport.Detect(ctx, "sqlite", conn); ok || err != nil {
		t.Errorf("Detect: %v, %v", ok, err)
	}
	if _, err := seedimport.Open(ctx, "sqlite", "file:"+t.TempDir()+"/missing.db"); err == nil {
		t.Error("Open of a missing file: no error")
	}
}

// TestConsumerOf: only keys under the exact (case-sensitive) prefix are
// consumer records, and one that holds no position is an error.
func TestConsumerOf(t *testing.T) {
	for _, c := range []struct {
		key, value string
		ok         bool
		next       int64
		err        bool
	}{
		{"github.com/a-h/kv/stream/mailer", `{"name":"mailer","ofType":"all","seq":42,"lastUpdated":"2025-01-01T00:00:00Z"}`, true, 42, false},
		{"github.com/a-h/kv/stream/", `{"seq":0}`, true, 0, false},
		{"GitHub.com/a-h/kv/stream/mailer", `{"seq":1}`, false, 0, false},
		{"github.com/a-h/kv/streamer", `{"seq":1}`, false, 0, false},
		{"github.com/a-h/kv/stream/broken", `{"name":"broken"}`, true, 0, true},
		{"github.com/a-h/kv/stream/text", `"seq"`, true, 0, true},
	} {
		got, ok, err := seedimport.ConsumerOf(seedimport.Record{Key: c.key, Value: json.RawMessage(c.value)})
		if ok != c.ok || (err != nil) != c.err || (err == nil && got.Next != c.next) {
			t.Errorf("%s: %+v, %v, %v", c.key, got, ok, err)
		}
		if err != nil && !errors.Is(err, seedimport.ErrBadRow) {
			t.Errorf("%s: %v is not ErrBadRow", c.key, err)
		}
	}
}

// TestGraph: a record is the graph's only if its key, type and value all
// have the graph's shape.
func TestGraph(t *testing.T) {
	edge := `{"from":{"id":"a/b c%","type":"User"},"to":{"id":"1","type":"Post"},"type":"likes","data":{"n":1}}`
	for _, c := range []struct {
		key, typ, value string
		kind            seedimport.GraphKind
	}{
		{"graph/edge/User/a%2Fb%20c%25/likes/Post/1", "Edge", edge, seedimport.GraphEdge},
		{"graph/edge/User/a%2Fb%20c%25/likes/Post/2", "Edge", edge, seedimport.NotGraph}, // the key names another edge
		{"graph/edge/User/a%2Fb%20c%25/likes/Post/1", "map[string]interface {}", edge, seedimport.NotGraph},
		{"graph/edge/x", "Edge", `{"x":1}`, seedimport.NotGraph},
		{"graph/node/User/a%2Fb%20c%25/outgoing/likes/Post/1", "EdgeRef", `{"node":{"id":"1","type":"Post"},"edgeType":"likes"}`, seedimport.GraphIndex},
		{"graph/node/Post/1/incoming/likes/User/a%2Fb%20c%25", "EdgeRef", `{"node":{"id":"a/b c%","type":"User"},"edgeType":"likes"}`, seedimport.GraphIndex},
		{"graph/node/Post/1/incoming/likes/User/x", "EdgeRef", `{"node":{"id":"a/b c%","type":"User"},"edgeType":"likes"}`, seedimport.NotGraph},
		{"graph/node/Post/1/sideways/likes/User/x", "EdgeRef", `{"node":{"id":"x","type":"User"},"edgeType":"likes"}`, seedimport.NotGraph},
		{"user/alice", "Edge", edge, seedimport.NotGraph},
	} {
		e, kind := seedimport.Graph(seedimport.Record{Key: c.key, Type: c.typ, Value: json.RawMessage(c.value)})
		if kind != c.kind {
			t.Errorf("%s (%s): kind %v, want %v", c.key, c.typ, kind, c.kind)
		}
		if kind == seedimport.GraphEdge && (e.FromID != "a/b c%" || e.ToType != "Post" || e.Type != "likes" || string(e.Data) != `{"n":1}`) {
			t.Errorf("%s: edge %+v", c.key, e)
		}
	}
}

// TestBlobKeyRefused: on rqlite a-h/kv stored a key of the form x'...' as
// a BLOB, whose text is lost: reading it is an error naming it, not a
// guess (and not an endless page).
func TestBlobKeyRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn := seedtest.NewDatabase(t, "rqlite")
	if err := seedtest.CreateSchema(ctx, "rqlite", conn); err != nil {
		t.Fatal(err)
	}
	w := &seedtest.Writer{Type: "rqlite", Conn: conn}
	w.Put("a", `{}`, "T", time.Now())
	w.Put("x'0A1B'", `{}`, "T", time.Now())
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	src, err := seedimport.Open(ctx, "rqlite", conn)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var keys []string
	err = src.Records(ctx, func(r seedimport.Record) error { keys = append(keys, r.Key); return nil })
	if !errors.Is(err, seedimport.ErrBadRow) || !strings.Contains(err.Error(), "is stored as blob, not text") || !slices.Equal(keys, []string{"a"}) {
		t.Errorf("keys %q, error %v", keys, err)
	}
}
