package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/kvcore"
)

// step is one kv invocation in a scenario and what it must do.
type step struct {
	name    string
	stdin   string
	args    []string
	code    int
	stdout  string // exact stdout, if wantOut
	wantOut bool
	keys    *string // the keys of the printed records, in order
	stderr  string  // a substring of stderr ("" means stderr must be empty)
}

func strp(s string) *string { return &s }

// runSteps runs steps in order against the database behind conn.
func runSteps(t *testing.T, conn string, steps []step) {
	t.Helper()
	for _, s := range steps {
		args := append(append([]string{}, s.args...), conn)
		r := kv(t, s.stdin, args...)
		if r.code != s.code {
			t.Fatalf("%s: kv %q: exit %d, want %d (stderr: %s)", s.name, s.args, r.code, s.code, r.stderr)
		}
		if s.stderr == "" && r.stderr != "" {
			t.Fatalf("%s: kv %q: unexpected stderr: %s", s.name, s.args, r.stderr)
		}
		if s.stderr != "" && !strings.Contains(r.stderr, s.stderr) {
			t.Fatalf("%s: kv %q: stderr %q does not contain %q", s.name, s.args, r.stderr, s.stderr)
		}
		if s.stderr != "" && !strings.HasPrefix(r.stderr, "kv: ") {
			t.Fatalf("%s: kv %q: stderr %q does not start with \"kv: \"", s.name, s.args, r.stderr)
		}
		if s.wantOut && r.stdout != s.stdout {
			t.Fatalf("%s: kv %q: stdout %q, want %q", s.name, s.args, r.stdout, s.stdout)
		}
		if s.keys != nil {
			if got := keysOf(records(t, r.stdout)); got != *s.keys {
				t.Fatalf("%s: kv %q: keys %q, want %q", s.name, s.args, got, *s.keys)
			}
		}
	}
}

func TestPutGetPatch(t *testing.T) {
	conn, _ := newDB(t)
	mustKV(t, "", "init", conn)
	mustKV(t, "", "init", conn) // idempotent
	if out := mustKV(t, `{"hello": "world", "big": 123456789012345678901234567890, "html": "<a&b>"}`, "put", "greeting", conn); out != "" {
		t.Fatalf("put printed %q, want nothing", out)
	}
	rs := records(t, mustKV(t, "", "get", "key", "greeting", conn))
	if len(rs) != 1 {
		t.Fatalf("get key printed %d records", len(rs))
	}
	r := rs[0]
	// The value is the stored JSON itself, compacted, numbers exact, no HTML escaping.
	if string(r.Value) != `{"hello":"world","big":123456789012345678901234567890,"html":"<a&b>"}` {
		t.Errorf("value = %s", r.Value)
	}
	if r.Key != "greeting" || r.Version != 1 || r.Type != "" || r.Expires != nil {
		t.Errorf("record = %+v", r)
	}
	if r.Created.IsZero() || r.Created.Location() != time.UTC || !r.Created.Equal(r.Updated) {
		t.Errorf("created %v, updated %v: want equal, UTC", r.Created, r.Updated)
	}

	// Patch merges (RFC 7396) and bumps the version.
	mustKV(t, `{"hello": null, "nested": {"a": 1}}`, "patch", "greeting", "--version", "1", conn)
	mustKV(t, `{"nested": {"b": 2}}`, "patch", "greeting", conn)
	r = records(t, mustKV(t, "", "get", "key", "greeting", conn))[0]
	var v map[string]any
	if err := json.Unmarshal(r.Value, &v); err != nil {
		t.Fatal(err)
	}
	if _, ok := v["hello"]; ok || r.Version != 3 {
		t.Errorf("after patches: version %d value %s", r.Version, r.Value)
	}
	if got, _ := json.Marshal(v["nested"]); string(got) != `{"a":1,"b":2}` {
		t.Errorf("nested = %s, want {\"a\":1,\"b\":2}", got)
	}

	// --record-type is kept by patch.
	mustKV(t, `{"name": "Alice"}`, "put", "user/alice", "--record-type", "Person", conn)
	mustKV(t, `{"age": 30}`, "patch", "user/alice", conn)
	r = records(t, mustKV(t, "", "get", "key", "user/alice", conn))[0]
	if r.Type != "Person" || string(r.Value) != `{"name":"Alice","age":30}` {
		t.Errorf("typed record after patch = %+v (%s)", r, r.Value)
	}
	// A non-object value round-trips.
	mustKV(t, " [1, 2.50, \"x\", null] \n", "put", "list", conn)
	if r := records(t, mustKV(t, "", "get", "key", "list", conn))[0]; string(r.Value) != `[1,2.50,"x",null]` {
		t.Errorf("array value = %s", r.Value)
	}
}

func TestVersions(t *testing.T) {
	conn, _ := newDB(t)
	runSteps(t, conn, []step{
		{name: "create only", stdin: `{"v":1}`, args: []string{"put", "k", "--version", "0"}},
		{name: "create only again", stdin: `{"v":2}`, args: []string{"put", "k", "--version=0"}, code: 1, stderr: "version mismatch"},
		{name: "wrong version", stdin: `{"v":2}`, args: []string{"put", "--version", "5", "k"}, code: 1, stderr: "version mismatch"},
		{name: "right version", stdin: `{"v":2}`, args: []string{"put", "k", "--version", "1"}},
		{name: "versioned put on missing key", stdin: `{"v":1}`, args: []string{"put", "missing", "--version", "1"}, code: 1, stderr: "version mismatch"},
		{name: "patch wrong version", stdin: `{"p":1}`, args: []string{"patch", "k", "--version", "1"}, code: 1, stderr: "version mismatch"},
		{name: "patch missing with version", stdin: `{"p":1}`, args: []string{"patch", "missing", "--version", "2"}, code: 1, stderr: "version mismatch"},
		{name: "value unchanged", args: []string{"get", "batch", "k", "missing"}, keys: strp("k")},
		{name: "delete wrong version", args: []string{"delete", "k", "--version", "1"}, code: 1, stderr: "version mismatch"},
		{name: "still there", args: []string{"count", "all"}, wantOut: true, stdout: "1\n"},
		{name: "delete right version", args: []string{"delete", "--version", "2", "k"}, wantOut: true, stdout: "1\n"},
		{name: "gone", args: []string{"count", "all"}, wantOut: true, stdout: "0\n"},
	})
	// The mismatches changed nothing: missing was never created.
	if r := kv(t, "", "get", "key", "missing", conn); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("get missing: %+v", r)
	}
}

func TestReadsAndDeletes(t *testing.T) {
	conn, _ := newDB(t)
	for _, k := range []string{"a", "b/1", "b/2", "b/3", "b_x", "B/9", "c", "d%", "user/alice", "user/bob"} {
		mustKV(t, `{"k":"`+k+`"}`, "put", k, conn)
	}
	all := "B/9,a,b/1,b/2,b/3,b_x,c,d%,user/alice,user/bob"
	runSteps(t, conn, []step{
		{name: "list", args: []string{"list"}, keys: strp(all)},
		{name: "list offset", args: []string{"list", "8"}, keys: strp("user/alice,user/bob")},
		{name: "list offset limit", args: []string{"list", "1", "2"}, keys: strp("a,b/1")},
		{name: "list past end", args: []string{"list", "100"}, wantOut: true, stdout: ""},
		{name: "prefix", args: []string{"get", "prefix", "b/"}, keys: strp("b/1,b/2,b/3")},
		{name: "prefix is byte exact", args: []string{"get", "prefix", "b_"}, keys: strp("b_x")},
		{name: "prefix % is literal", args: []string{"get", "prefix", "d%"}, keys: strp("d%")},
		{name: "prefix case sensitive", args: []string{"get", "prefix", "B"}, keys: strp("B/9")},
		{name: "prefix page", args: []string{"get", "prefix", "b/", "1", "1"}, keys: strp("b/2")},
		{name: "empty prefix", args: []string{"get", "prefix", ""}, keys: strp(all)},
		{name: "range", args: []string{"get", "range", "b/", "c"}, keys: strp("b/1,b/2,b/3,b_x")},
		{name: "range half open", args: []string{"get", "range", "a", "b/3"}, keys: strp("a,b/1,b/2")},
		{name: "range from start", args: []string{"get", "range", "", "a/"}, keys: strp("B/9,a")},
		{name: "range page", args: []string{"get", "range", "a", "z", "2", "3"}, keys: strp("b/2,b/3,b_x")},
		{name: "batch in order", args: []string{"get", "batch", "c", "nope", "a", "c"}, keys: strp("c,a")},
		{name: "count all", args: []string{"count", "all"}, wantOut: true, stdout: "10\n"},
		{name: "count prefix", args: []string{"count", "prefix", "user/"}, wantOut: true, stdout: "2\n"},
		{name: "count range", args: []string{"count", "range", "a", "c"}, wantOut: true, stdout: "5\n"},
		{name: "delete keys", args: []string{"delete", "a", "c", "nope"}, wantOut: true, stdout: "2\n"},
		{name: "delete key subcommand", args: []string{"delete", "key", "d%"}, wantOut: true, stdout: "1\n"},
		{name: "delete prefix page", args: []string{"delete", "prefix", "b/", "1", "1"}, wantOut: true, stdout: "1\n"},
		{name: "after delete prefix page", args: []string{"get", "prefix", "b"}, keys: strp("b/1,b/3,b_x")},
		{name: "delete range", args: []string{"delete", "range", "b/", "b/9"}, wantOut: true, stdout: "2\n"},
		{name: "delete prefix", args: []string{"delete", "prefix", "user/"}, wantOut: true, stdout: "2\n"},
		{name: "left", args: []string{"list"}, keys: strp("B/9,b_x")},
		{name: "delete all", args: []string{"delete", "--all"}, wantOut: true, stdout: "2\n"},
		{name: "empty", args: []string{"count", "all"}, wantOut: true, stdout: "0\n"},
		{name: "list empty", args: []string{"list"}, wantOut: true, stdout: ""},
	})
}

func TestNamespaces(t *testing.T) {
	conn, _ := newDB(t)
	mustKV(t, `1`, "put", "k", conn)
	mustKV(t, `2`, "put", "k", "--namespace", "other", conn)
	if r := records(t, mustKV(t, "", "get", "key", "k", conn))[0]; string(r.Value) != "1" {
		t.Errorf("default namespace value = %s", r.Value)
	}
	if r := records(t, mustKV(t, "", "--namespace=other", "get", "key", "k", conn))[0]; string(r.Value) != "2" {
		t.Errorf("other namespace value = %s", r.Value)
	}
	mustKV(t, "", "delete", "--all", "--namespace", "other", conn)
	if out := mustKV(t, "", "count", "all", conn); out != "1\n" {
		t.Errorf("delete --all in another namespace touched the default one: count %q", out)
	}
}

func TestTTL(t *testing.T) {
	conn, _ := newDB(t)
	before := time.Now().UTC()
	mustKV(t, `{"a":1}`, "put", "k", "--ttl", "1h", conn)
	r := records(t, mustKV(t, "", "get", "key", "k", conn))[0]
	if r.Expires == nil {
		t.Fatal("put --ttl 1h: no expiry")
	}
	if d := r.Expires.Sub(before); d < time.Hour || d > time.Hour+time.Minute {
		t.Errorf("expires %v is %v after the put, want about 1h", r.Expires, d)
	}
	// Patch keeps the expiry unless given --ttl.
	mustKV(t, `{"b":2}`, "patch", "k", conn)
	if r2 := records(t, mustKV(t, "", "get", "key", "k", conn))[0]; r2.Expires == nil || !r2.Expires.Equal(*r.Expires) {
		t.Errorf("patch changed the expiry: %v, was %v", r2.Expires, r.Expires)
	}
	mustKV(t, `{"c":3}`, "patch", "k", "--ttl", "2h", conn)
	r = records(t, mustKV(t, "", "get", "key", "k", conn))[0]
	if r.Expires == nil || r.Expires.Sub(before) < 2*time.Hour {
		t.Errorf("patch --ttl 2h: expires %v", r.Expires)
	}
	// touch --ttl 0 removes the expiry, keeping value and version.
	mustKV(t, "", "touch", "k", "--ttl", "0", conn)
	r2 := records(t, mustKV(t, "", "get", "key", "k", conn))[0]
	if r2.Expires != nil || r2.Version != r.Version || string(r2.Value) != string(r.Value) {
		t.Errorf("after touch --ttl 0: %+v (was %+v)", r2, r)
	}
	// An expired record is gone from every read.
	mustKV(t, "", "touch", "k", "--ttl", "1ms", conn)
	mustKV(t, `{}`, "put", "short", "--ttl", "1ms", conn)
	time.Sleep(20 * time.Millisecond)
	runSteps(t, conn, []step{
		{name: "get expired", args: []string{"get", "key", "k"}, code: 1, stderr: "not found"},
		{name: "list", args: []string{"list"}, wantOut: true, stdout: ""},
		{name: "count", args: []string{"count", "all"}, wantOut: true, stdout: "0\n"},
		{name: "touch expired", args: []string{"touch", "k", "--ttl", "1h"}, code: 1, stderr: "not found"},
		{name: "touch needs --ttl", args: []string{"touch", "k"}, code: 2, stderr: "--ttl is required"},
	})
}

// TestListManyPages: unpaged listings stream over several of kvcore's
// pages and print every record once, in order.
func TestListManyPages(t *testing.T) {
	conn, path := newDB(t)
	ctx := context.Background()
	b, err := open.Open(ctx, open.Config{Type: "sqlite", Connection: "file:" + path + "?mode=rwc"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Store.Init(ctx); err != nil {
		t.Fatal(err)
	}
	var ms []kvcore.Mutation
	var want []string
	for i := 0; i < 700; i++ {
		k := fmt.Sprintf("k/%04d", i)
		want = append(want, k)
		ms = append(ms, kvcore.Put(k, -1, []byte(fmt.Sprint(i))))
	}
	if _, err := b.Store.MutateAll(ctx, ms...); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"list"}, {"get", "prefix", "k/"}, {"get", "range", "k/", "k/9999"}} {
		rs := records(t, mustKV(t, "", append(args, conn)...))
		if got := keysOf(rs); got != strings.Join(want, ",") {
			t.Errorf("kv %q: %d records, want %d in order", args, len(rs), len(want))
		}
	}
	if rs := records(t, mustKV(t, "", "list", "650", conn)); keysOf(rs) != strings.Join(want[650:], ",") {
		t.Errorf("list 650: %d records", len(rs))
	}
}
