package badinput

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
	"github.com/kvsuite/kv/kvtask"
)

// apiFixture is a SQLite file store holding known data in every layer.
type apiFixture struct {
	path   string
	store  *kvcore.Store
	locker *kvlock.Locker
	stream *kvstream.Stream
	sched  *kvtask.Scheduler
	graph  *kvgraph.Graph
}

var (
	alice = kvgraph.NewNodeRef("alice", "User")
	bob   = kvgraph.NewNodeRef("bob", "User")
)

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	db, st, path := openFile(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	locker, err := kvlock.New(db)
	must(err)
	stream, err := kvstream.New(db)
	must(err)
	sched, err := kvtask.New(db)
	must(err)
	graph, err := kvgraph.New(st)
	must(err)
	must(st.Put(ctx, "k1", -1, map[string]int{"a": 1}))
	must(st.Put(ctx, "k2", -1, json.RawMessage(`[1,2,3]`), kvcore.WithType("List")))
	other, err := st.Namespace("other")
	must(err)
	must(other.Put(ctx, "o1", -1, json.RawMessage(`"other"`)))
	if _, ok, err := locker.Acquire(ctx, "l1", "me", time.Hour); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	must(stream.SetPosition(ctx, "c1", 1))
	task := kvtask.NewTask("echo", json.RawMessage(`{"n":1}`))
	task.UniqueKey = "uk"
	must(sched.New(ctx, task))
	must(sched.Schedule(ctx, "s1", "@hourly", kvtask.NewTask("echo", nil)))
	must(graph.AddEdge(ctx, kvgraph.NewEdge(alice, bob, "follows", json.RawMessage(`{"since":2020}`))))
	return &apiFixture{path: path, store: st, locker: locker, stream: stream, sched: sched, graph: graph}
}

// apiCase is one bad call: it must fail with an error wrapping want and
// change nothing.
type apiCase struct {
	name string
	want error
	call func(ctx context.Context, f *apiFixture) error
}

// drain runs an iterator and returns its first error.
func drain[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

func apiCases() []apiCase {
	long := strings.Repeat("k", kvcore.MaxKeyLen+1)
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	return []apiCase{
		// kvcore: keys.
		{"put empty key", kvcore.ErrInvalidKey, func(ctx context.Context, f *apiFixture) error { return f.store.Put(ctx, "", -1, 1) }},
		{"put key with NUL", kvcore.ErrInvalidKey, func(ctx context.Context, f *apiFixture) error { return f.store.Put(ctx, "k1\x00x", -1, 1) }},
		{"put key of 1025 bytes", kvcore.ErrInvalidKey, func(ctx context.Context, f *apiFixture) error { return f.store.Put(ctx, long, -1, 1) }},
		{"put key not UTF-8", kvcore.ErrInvalidKey, func(ctx context.Context, f *apiFixture) error { return f.store.Put(ctx, "k\xff", -1, 1) }},
		{"get key with NUL", kvcore.ErrInvalidKey, func(ctx context.Context, f *apiFixture) error {
			_, _, err := f.store.Get(ctx, "\x00", nil)
			return err
		}},
		{"get batch with a huge key", kvcore.ErrInvalidKey, func(ctx context.Context, f *apiFixture) error {
			_, err := f.store.GetBatch(ctx, "k1", strings.Repeat("x", 1<<20))
			return err
		}},
		{"range reversed", kvcore.ErrInvalidKey, func(ctx context.Context, f *apiFixture) error {
			_, err := f.store.GetRange(ctx, "k2", "k1", 0, 0)
			return err
		}},
		{"delete empty prefix", kvcore.ErrInvalidKey, func(ctx context.Context, f *apiFixture) error {
			_, err := f.store.DeletePrefix(ctx, "", 0, 0)
			return err
		}},
		{"delete range empty end", kvcore.ErrInvalidKey, func(ctx context.Context, f *apiFixture) error {
			_, err := f.store.DeleteRange(ctx, "a", "", 0, 0)
			return err
		}},
		{"cursor after empty key", kvcore.ErrInvalidKey, func(ctx context.Context, f *apiFixture) error {
			return drain(f.store.AllPrefix(ctx, "k", kvcore.StartAfter("")))
		}},
		{"cursor prefix with NUL", kvcore.ErrInvalidKey, func(ctx context.Context, f *apiFixture) error {
			return drain(f.store.AllPrefix(ctx, "k\x00"))
		}},
		// kvcore: values.
		{"put malformed JSON", kvcore.ErrInvalidValue, func(ctx context.Context, f *apiFixture) error { return f.store.Put(ctx, "k1", -1, raw(`{"a":`)) }},
		{"put two JSON documents", kvcore.ErrInvalidValue, func(ctx context.Context, f *apiFixture) error { return f.store.Put(ctx, "k1", -1, raw(`1 2`)) }},
		{"put raw NUL byte in value", kvcore.ErrInvalidValue, func(ctx context.Context, f *apiFixture) error { return f.store.Put(ctx, "k1", -1, raw("\"a\x00b\"")) }},
		{"put value not UTF-8", kvcore.ErrInvalidValue, func(ctx context.Context, f *apiFixture) error { return f.store.Put(ctx, "k1", -1, raw("\"a\xffb\"")) }},
		{"put value over the limit", kvcore.ErrInvalidValue, func(ctx context.Context, f *apiFixture) error {
			return f.store.Put(ctx, "k1", -1, strings.Repeat("x", kvcore.DefaultMaxValueSize))
		}},
		{"put value of a wrong type (chan)", kvcore.ErrInvalidValue, func(ctx context.Context, f *apiFixture) error { return f.store.Put(ctx, "k1", -1, make(chan int)) }},
		{"patch malformed JSON", kvcore.ErrInvalidValue, func(ctx context.Context, f *apiFixture) error { return f.store.Patch(ctx, "k1", -1, raw(`{"a":}`)) }},
		{"patch over the limit", kvcore.ErrInvalidValue, func(ctx context.Context, f *apiFixture) error {
			return f.store.Patch(ctx, "k1", -1, map[string]string{"b": strings.Repeat("y", kvcore.DefaultMaxValueSize)})
		}},
		// kvcore: other arguments.
		{"put version -2", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error { return f.store.Put(ctx, "k1", -2, 1) }},
		{"put negative TTL", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.store.Put(ctx, "k1", -1, 1, kvcore.WithTTL(-5*time.Second))
		}},
		{"put zero TTL", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.store.Put(ctx, "k1", -1, 1, kvcore.WithTTL(0))
		}},
		{"put expiry in the past", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.store.Put(ctx, "k1", -1, 1, kvcore.WithExpiry(time.Now().Add(-time.Hour)))
		}},
		{"put type name with NUL", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.store.Put(ctx, "k1", -1, 1, kvcore.WithType("T\x00"))
		}},
		{"list offset -1", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.store.List(ctx, -1, 0)
			return err
		}},
		{"get prefix limit -1", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.store.GetPrefix(ctx, "k", 0, -1)
			return err
		}},
		{"delete prefix offset -1", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.store.DeletePrefix(ctx, "k", -1, 0)
			return err
		}},
		{"namespace with NUL", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.store.Namespace("n\x00")
			return err
		}},
		{"put version mismatch", kvcore.ErrVersionMismatch, func(ctx context.Context, f *apiFixture) error { return f.store.Put(ctx, "k1", 7, 1) }},
		{"create existing key", kvcore.ErrVersionMismatch, func(ctx context.Context, f *apiFixture) error { return f.store.Put(ctx, "k1", 0, 1) }},
		{"patch version mismatch", kvcore.ErrVersionMismatch, func(ctx context.Context, f *apiFixture) error {
			return f.store.Patch(ctx, "k1", 9, map[string]int{"b": 2})
		}},
		{"batch with one bad key", kvcore.ErrInvalidKey, func(ctx context.Context, f *apiFixture) error {
			_, err := f.store.MutateAll(ctx, kvcore.Put("new1", -1, 1), kvcore.Delete("k1"), kvcore.Put("", -1, 2))
			return err
		}},
		{"batch with a version mismatch last", kvcore.ErrVersionMismatch, func(ctx context.Context, f *apiFixture) error {
			_, err := f.store.MutateAll(ctx, kvcore.Put("new1", -1, 1), kvcore.DeletePrefix("k", 0, 0), kvcore.Put("k2", 5, 2))
			return err
		}},
		{"touch missing key", kvcore.ErrNotFound, func(ctx context.Context, f *apiFixture) error { return f.store.Touch(ctx, "nope", time.Hour) }},
		{"touch negative TTL", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error { return f.store.Touch(ctx, "k1", -time.Second) }},
		// kvlock.
		{"lock empty name", kvlock.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, _, err := f.locker.Acquire(ctx, "", "me", time.Minute)
			return err
		}},
		{"lock zero duration", kvlock.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, _, err := f.locker.Acquire(ctx, "l1", "me", 0)
			return err
		}},
		{"lock negative duration", kvlock.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, _, err := f.locker.Acquire(ctx, "l2", "me", -5*time.Second)
			return err
		}},
		{"lock held by another owner", kvlock.ErrHeld, func(ctx context.Context, f *apiFixture) error {
			_, ok, err := f.locker.Acquire(ctx, "l1", "you", time.Minute)
			if err == nil && !ok {
				err = kvlock.ErrHeld
			}
			return err
		}},
		{"release owner with NUL", kvlock.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.locker.Release(ctx, "l1", "me\x00")
			return err
		}},
		{"lock status huge name", kvlock.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, _, err := f.locker.Status(ctx, long)
			return err
		}},
		// kvstream.
		{"stream read negative seq", kvstream.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.stream.Read(ctx, -1, 10)
			return err
		}},
		{"stream read negative limit", kvstream.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.stream.Read(ctx, 0, -1)
			return err
		}},
		{"stream read bad type filter", kvstream.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.stream.Read(ctx, 0, 10, kvstream.OfType("T\xff"))
			return err
		}},
		{"stream trim negative", kvstream.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.stream.Trim(ctx, -5)
			return err
		}},
		{"consumer empty name", kvstream.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.stream.Consumer("")
			return err
		}},
		{"consumer name with NUL", kvstream.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.stream.Consumer("c\x00")
			return err
		}},
		{"consumer batch size 0", kvstream.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.stream.Consumer("c1", kvstream.BatchSize(0))
			return err
		}},
		{"consumer batch size absurd", kvstream.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.stream.Consumer("c1", kvstream.BatchSize(1e9))
			return err
		}},
		{"consumer zero lease", kvstream.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.stream.Consumer("c1", kvstream.LeaseDuration(0))
			return err
		}},
		{"consumer unknown commit mode", kvstream.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.stream.Consumer("c1", kvstream.Commit("sometimes"))
			return err
		}},
		{"consumer position negative", kvstream.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.stream.SetPosition(ctx, "c1", -1)
		}},
		// kvtask.
		{"task empty name", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.sched.New(ctx, kvtask.NewTask("", nil))
		}},
		{"task malformed payload", kvcore.ErrInvalidValue, func(ctx context.Context, f *apiFixture) error {
			return f.sched.New(ctx, kvtask.NewTask("echo", raw(`{"p":`)))
		}},
		{"task payload over the limit", kvcore.ErrInvalidValue, func(ctx context.Context, f *apiFixture) error {
			return f.sched.New(ctx, kvtask.NewTask("echo", raw(`"`+strings.Repeat("p", kvtask.MaxPayloadSize)+`"`)))
		}},
		{"task negative retries", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			t := kvtask.NewTask("echo", nil)
			t.MaxRetries = -1
			return f.sched.New(ctx, t)
		}},
		{"task negative timeout", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			t := kvtask.NewTask("echo", nil)
			t.TimeoutSeconds = -1
			return f.sched.New(ctx, t)
		}},
		{"task duplicate unique key", kvtask.ErrDuplicate, func(ctx context.Context, f *apiFixture) error {
			t := kvtask.NewTask("echo", nil)
			t.UniqueKey = "uk"
			return f.sched.New(ctx, t)
		}},
		{"task list unknown status", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.sched.List(ctx, "bogus", "", 0, 0)
			return err
		}},
		{"task list negative offset", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.sched.List(ctx, "", "", -1, 0)
			return err
		}},
		{"task cancel unknown id", kvtask.ErrNotFound, func(ctx context.Context, f *apiFixture) error {
			_, err := f.sched.Cancel(ctx, "no-such-task")
			return err
		}},
		{"task claim zero lease", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.sched.Claim(ctx, "r1", 0, 1, "echo")
			return err
		}},
		{"task claim zero limit", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.sched.Claim(ctx, "r1", time.Minute, 0, "echo")
			return err
		}},
		{"runner negative lock duration", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			r := kvtask.NewRunner(f.sched, "r1")
			r.RegisterHandler("echo", func(context.Context, kvtask.Task) error { return nil })
			r.LockDuration = -time.Second
			return r.RunUntilIdle(ctx)
		}},
		{"runner empty id", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			r := kvtask.NewRunner(f.sched, "")
			r.RegisterHandler("echo", func(context.Context, kvtask.Task) error { return nil })
			return r.RunUntilIdle(ctx)
		}},
		{"cron out of range", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.sched.Schedule(ctx, "s1", "61 * * * *", kvtask.NewTask("echo", nil))
		}},
		{"cron not an expression", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.sched.Schedule(ctx, "s1", "every tuesday", kvtask.NewTask("echo", nil))
		}},
		{"cron negative every", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.sched.Schedule(ctx, "s1", "@every -1m", kvtask.NewTask("echo", nil))
		}},
		{"cron zero every", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.sched.Schedule(ctx, "s1", "@every 0s", kvtask.NewTask("echo", nil))
		}},
		{"cron that never fires (February 30th)", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.sched.Schedule(ctx, "s1", "0 0 30 2 *", kvtask.NewTask("echo", nil))
		}},
		{"cron time zone without fields (panicked)", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.sched.Schedule(ctx, "s1", "TZ=UTC", kvtask.NewTask("echo", nil))
		}},
		{"schedule empty name", kvtask.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.sched.Schedule(ctx, "", "@hourly", kvtask.NewTask("echo", nil))
		}},
		// kvgraph.
		{"edge empty from id", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.graph.AddEdge(ctx, kvgraph.NewEdge(kvgraph.NewNodeRef("", "User"), bob, "follows", nil))
		}},
		{"edge empty type", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.graph.AddEdge(ctx, kvgraph.NewEdge(alice, bob, "", nil))
		}},
		{"edge properties malformed", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.graph.AddEdge(ctx, kvgraph.NewEdge(alice, bob, "follows", raw(`{"x":`)))
		}},
		{"edge properties an array", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.graph.AddEdge(ctx, kvgraph.NewEdge(alice, bob, "follows", raw(`[1]`)))
		}},
		{"edges with one bad edge last", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			return f.graph.AddEdges(ctx, kvgraph.NewEdge(bob, alice, "follows", nil), kvgraph.NewEdge(alice, kvgraph.NewNodeRef("x\x00", "User"), "follows", nil))
		}},
		{"path from empty node", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, _, err := f.graph.FindShortestPath(ctx, kvgraph.NodeRef{}, bob)
			return err
		}},
		{"k-hop negative", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.graph.KHop(ctx, alice, -1, kvgraph.TraversalOptions{})
			return err
		}},
		{"outgoing negative offset", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := f.graph.ListOutgoing(ctx, alice, "follows", -1, 0)
			return err
		}},
		{"graph batch size 0", kvcore.ErrInvalidArgument, func(ctx context.Context, f *apiFixture) error {
			_, err := kvgraph.New(f.store, kvgraph.WithBatchSize(0))
			return err
		}},
	}
}

// TestAPIBadInput: every bad call fails with an error that wraps the
// documented sentinel and says what was wrong, and changes nothing in any
// table of the database.
func TestAPIBadInput(t *testing.T) {
	f := newAPIFixture(t)
	before := dump(t, f.path)
	ctx := context.Background()
	cases := apiCases()
	t.Logf("%d API bad-input cases", len(cases))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call(ctx, f)
			if err == nil {
				t.Fatalf("no error, want one wrapping %v", c.want)
			}
			if !errors.Is(err, c.want) {
				t.Errorf("error %q does not wrap %q", err, c.want)
			}
			if msg := err.Error(); len(msg) > 600 || strings.Contains(msg, "runtime error") {
				t.Errorf("error is not a clear message: %.200q (%d bytes)", msg, len(msg))
			}
			if after := dump(t, f.path); after != before {
				t.Errorf("the call changed the database:\n%s", diff(before, after))
				before = after // so that the next cases are judged on their own
			}
		})
	}
}

// TestAPISQLFragmentKeys: keys and names made of SQL are stored literally.
func TestAPISQLFragmentKeys(t *testing.T) {
	f := newAPIFixture(t)
	ctx := context.Background()
	keys := []string{"'; DROP TABLE kv; --", `"; DROP TABLE kv; --`, "k1' OR '1'='1", "%", "_", "k%", `\'`}
	for _, k := range keys {
		if err := f.store.Put(ctx, k, 0, json.RawMessage(`{"sql":true}`)); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	for _, k := range keys {
		r, err := f.store.GetRecord(ctx, k)
		if err != nil || r.Key != k || string(r.Value) != `{"sql":true}` {
			t.Errorf("get %q = %+v, %v", k, r, err)
		}
	}
	// The LIKE wildcards do not widen a prefix: "k%" matches only itself.
	if rs, err := f.store.GetPrefix(ctx, "k%", 0, 0); err != nil || len(rs) != 1 {
		t.Errorf("prefix k%%: %d records, %v", len(rs), err)
	}
	if n, err := f.store.CountPrefix(ctx, "_"); err != nil || n != 1 {
		t.Errorf("count prefix _ = %d, %v", n, err)
	}
	if _, ok, err := f.locker.Acquire(ctx, "'; DROP TABLE leases; --", "x'); --", time.Minute); err != nil || !ok {
		t.Errorf("lease with SQL name: %v %v", ok, err)
	}
	// Everything else is still there.
	if n, err := f.store.Count(ctx); err != nil || n != 2+len(keys) {
		t.Errorf("count = %d, %v, want %d", n, err, 2+len(keys))
	}
	if _, ok, err := f.graph.GetEdge(ctx, alice, "follows", bob); err != nil || !ok {
		t.Errorf("graph edge lost: %v %v", ok, err)
	}
}
