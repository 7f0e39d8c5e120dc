package natspublish_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvnats"
	"github.com/kvsuite/kv/kvnats/kvnatstest"
	"github.com/kvsuite/kv/kvstream"
)

// env is a database, its store and stream, and a JetStream stream of the
// test's own.
type env struct {
	db     backendDB
	store  *kvcore.Store
	stream *kvstream.Stream
	name   string // the JetStream stream
	prefix string // its subject prefix
}

func newEnv(t *testing.T, kind, where, name, prefix string) env {
	t.Helper()
	db := mustOpen(t, kind, where)
	store, err := db.Store(kvcore.WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s, err := kvstream.New(db, kvstream.WithMaxPoll(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return env{db: db, store: store, stream: s, name: name, prefix: prefix}
}

// publishAll publishes the entries of e's stream with a publisher named
// consumer and opts, and stops it once it committed upTo (0: the last
// entry).
func (e env) publishAll(t *testing.T, consumer string, upTo int64, opts ...kvnats.Option) {
	t.Helper()
	nc := kvnatstest.Connect(t)
	p, err := kvnats.New(e.stream, nc, consumer, append([]kvnats.Option{kvnats.SubjectPrefix(e.prefix),
		kvnats.ConsumerOptions(kvstream.LeaseDuration(5 * time.Second))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if upTo == 0 {
		if upTo, err = e.stream.Seq(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	stop := start(t, p)
	waitCommitted(t, e.stream, consumer, upTo, time.Minute)
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// TestCollidingKeys: keys that a mapping turning '/', ':' and '_' into
// dots (and dropping empty tokens) sends to one subject land on subjects
// of their own, from which subscribers read the namespace and key back.
func TestCollidingKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind, where string) {
		ctx := context.Background()
		nc := kvnatstest.Connect(t)
		name, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{})
		e := newEnv(t, kind, where, name, prefix)
		keys := []string{"user/1", "user:1", "user_1", "user.1", "user//1", "/user/1", "user/1/", "user::1", "user/_1", "user *1", "user>1"}
		for _, k := range keys {
			if err := e.store.Put(ctx, k, -1, k); err != nil {
				t.Fatal(err)
			}
		}
		other, err := e.store.Namespace("user")
		if err != nil {
			t.Fatal(err)
		}
		if err := other.Put(ctx, "1", -1, "in namespace user"); err != nil {
			t.Fatal(err)
		}
		e.publishAll(t, "pusher", 0)
		msgs := kvnatstest.Messages(t, nc, name)
		if len(msgs) != len(keys)+1 {
			t.Fatalf("%d messages for %d entries", len(msgs), len(keys)+1)
		}
		subjects := map[string]bool{}
		for i, m := range msgs {
			wantNS, wantKey := "", ""
			if i < len(keys) {
				wantKey = keys[i]
			} else {
				wantNS, wantKey = "user", "1"
			}
			if subjects[m.Subject] {
				t.Errorf("two entries on %q", m.Subject)
			}
			subjects[m.Subject] = true
			ns, key, err := kvnats.ParseSubject(prefix, m.Subject)
			if err != nil || ns != wantNS || key != wantKey {
				t.Errorf("subject %q parses as %q, %q, %v; want %q, %q", m.Subject, ns, key, err, wantNS, wantKey)
			}
		}
	})
}

// TestTouchPublished: a Touch is published as a message of its own, with
// action touch, the record's version and an empty payload, between the
// changes it was committed among; a Touch of a missing key publishes
// nothing.
func TestTouchPublished(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind, where string) {
		ctx := context.Background()
		nc := kvnatstest.Connect(t)
		name, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{})
		e := newEnv(t, kind, where, name, prefix)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(e.store.Put(ctx, "a", -1, 1, kvcore.WithTTL(time.Hour)))
		must(e.store.Put(ctx, "a", -1, 2, kvcore.WithTTL(time.Hour)))
		must(e.store.Touch(ctx, "a", time.Minute))
		if err := e.store.Touch(ctx, "missing", time.Minute); !errors.Is(err, kvcore.ErrNotFound) {
			t.Fatalf("touch of a missing key = %v", err)
		}
		_, err := e.store.Delete(ctx, "a")
		must(err)
		e.publishAll(t, "pusher", 0)
		want := entries(t, e.stream)
		var actions []string
		for _, r := range want {
			actions = append(actions, r.Action)
		}
		if fmt.Sprint(actions) != "[create update touch delete]" {
			t.Fatalf("stream actions %v", actions)
		}
		id, err := kvnats.Identity(ctx, e.stream)
		must(err)
		checkExactlyOnce(t, nc, name, prefix, id, want)
		m := kvnatstest.Messages(t, nc, name)[2]
		if m.Header.Get(kvnats.HeaderAction) != "touch" || m.Header.Get(kvnats.HeaderVersion) != "2" || len(m.Data) != 0 {
			t.Errorf("touch message: headers %v, payload %q", m.Header, m.Data)
		}
	})
}

// TestFilters: a publisher publishes only the entries its consumer's
// filters let through, and one with a start at the end only what comes
// after its start.
func TestFilters(t *testing.T) {
	ctx := context.Background()
	nc := kvnatstest.Connect(t)
	name, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{})
	e := newEnv(t, "sqlite", newSQLite(t), name, prefix)
	orders, err := e.store.Namespace("orders")
	if err != nil {
		t.Fatal(err)
	}
	type Invoice struct{ N int }
	for i := range 6 {
		var v any = i
		if i%2 == 0 {
			v = Invoice{i}
		}
		if err := orders.Put(ctx, fmt.Sprintf("o/%d", i), -1, v); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Put(ctx, fmt.Sprintf("d/%d", i), -1, Invoice{i}); err != nil {
			t.Fatal(err)
		}
	}
	// The last entry that passes the filters is seq 9 (o/4).
	e.publishAll(t, "invoices", 9, kvnats.ConsumerOptions(kvstream.Filters(kvstream.InNamespace("orders"), kvstream.OfType("Invoice"))))
	var got []string
	for _, m := range kvnatstest.Messages(t, nc, name) {
		got = append(got, m.Subject)
	}
	want := []string{prefix + ".orders.o.0", prefix + ".orders.o.2", prefix + ".orders.o.4"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("published %v, want %v", got, want)
	}
}

// TestTwoDatabasesOneStream: two databases publish into one JetStream
// stream with the same prefix (each its own namespace); their entries have
// the same seqs, but the databases' identities differ, so JetStream drops
// none of them as a duplicate of the other's.
func TestTwoDatabasesOneStream(t *testing.T) {
	ctx := context.Background()
	nc := kvnatstest.Connect(t)
	name, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{})
	for _, ns := range []string{"east", "west"} {
		e := newEnv(t, "sqlite", newSQLite(t), name, prefix)
		st, err := e.store.Namespace(ns)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			if err := st.Put(ctx, fmt.Sprintf("k/%d", i), -1, i); err != nil {
				t.Fatal(err)
			}
		}
		e.publishAll(t, "pusher", 0)
	}
	if msgs := kvnatstest.Messages(t, nc, name); len(msgs) != 100 {
		t.Fatalf("the JetStream stream holds %d messages of the two databases' 100 entries", len(msgs))
	}
}

// TestIdentity: a database's stream identity is the same for every
// caller, also concurrent first ones and after reopening it, and differs
// between databases.
func TestIdentity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind, where string) {
		ctx := context.Background()
		identity := func(db backendDB) string {
			t.Helper()
			s, err := kvstream.New(db)
			if err != nil {
				t.Fatal(err)
			}
			id, err := kvnats.Identity(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		db := mustOpen(t, kind, where)
		ids := make([]string, 8)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() { ids[i] = identity(db) })
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] || len(id) != 32 {
				t.Fatalf("concurrent first identities %q", ids)
			}
		}
		db.Close()
		if id := identity(mustOpen(t, kind, where)); id != ids[0] {
			t.Errorf("identity after reopening %q, was %q", id, ids[0])
		}
		otherWhere := newSQLite(t)
		if kind == "postgres" {
			otherWhere = newPostgres(t)
		}
		if id := identity(mustOpen(t, kind, otherWhere)); id == ids[0] {
			t.Errorf("two databases share identity %q", id)
		}
	})
}

// cancelOnStart is a log handler that calls cancel when the publisher logs
// that it started, just before it takes the consumer's lease.
type cancelOnStart struct{ cancel context.CancelFunc }

func (h cancelOnStart) Enabled(context.Context, slog.Level) bool { return true }
func (h cancelOnStart) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "kvnats publisher started" {
		h.cancel()
	}
	return nil
}
func (h cancelOnStart) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h cancelOnStart) WithGroup(string) slog.Handler      { return h }

// TestRunCancelledStarting: a Run whose context ends as it takes the
// consumer's lease returns nil, as a shutdown does.
func TestRunCancelledStarting(t *testing.T) {
	nc := kvnatstest.Connect(t)
	name, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{})
	e := newEnv(t, "sqlite", newSQLite(t), name, prefix)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := kvnats.New(e.stream, nc, "pusher", kvnats.SubjectPrefix(prefix), kvnats.Logger(slog.New(cancelOnStart{cancel})))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(ctx); err != nil {
		t.Errorf("Run = %v", err)
	}
}
