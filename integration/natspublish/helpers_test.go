package natspublish_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvnats"
	"github.com/kvsuite/kv/kvnats/kvnatstest"
	"github.com/kvsuite/kv/kvstream"
)

// start runs p until the returned stop is called; stop returns Run's
// result.
func start(t *testing.T, p *kvnats.Publisher) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return")
			return nil
		}
	}
}

// entries returns every entry of the kv stream, in seq order.
func entries(t testing.TB, s *kvstream.Stream) []kvstream.Record {
	t.Helper()
	var all []kvstream.Record
	for {
		from := int64(1)
		if len(all) > 0 {
			from = all[len(all)-1].Seq + 1
		}
		recs, err := s.Read(context.Background(), from, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return all
		}
		all = append(all, recs...)
	}
}

// position returns the committed position of consumer (0 if it has none).
func position(t testing.TB, s *kvstream.Stream, consumer string) int64 {
	t.Helper()
	st, err := s.ConsumerStatus(context.Background(), consumer)
	if err != nil {
		return 0
	}
	return st.Position
}

// waitCommitted waits until consumer committed seq or later.
func waitCommitted(t testing.TB, s *kvstream.Stream, consumer string, seq int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for position(t, s, consumer) < seq {
		if time.Now().After(deadline) {
			t.Fatalf("consumer %s committed %d, not %d, within %v", consumer, position(t, s, consumer), seq, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// storedCount returns how many messages the JetStream stream holds,
// asking again while NATS does not answer (it may be restarting).
func storedCount(t testing.TB, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := js.Stream(ctx, name)
		cancel()
		if err == nil {
			return s.CachedInfo().State.Msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream stream %s: %v", name, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkExactlyOnce fails t unless the JetStream stream name holds want,
// the kv stream's entries, each once, in seq order, on its subject, with
// its headers, payload and message id.
func checkExactlyOnce(t testing.TB, nc *nats.Conn, name, prefix, id string, want []kvstream.Record) {
	t.Helper()
	got := kvnatstest.Messages(t, nc, name)
	if len(got) != len(want) {
		t.Fatalf("the JetStream stream holds %d messages for %d entries", len(got), len(want))
	}
	for i, m := range got {
		r := want[i]
		seq := strconv.FormatInt(r.Seq, 10)
		subject, err := kvnats.Subject(prefix, r.Namespace, r.Key)
		if err != nil {
			t.Fatal(err)
		}
		payload := string(r.Value)
		if r.Action == kvstream.ActionDelete || r.Action == kvstream.ActionTouch {
			payload = ""
		}
		switch {
		case m.Header.Get(kvnats.HeaderSeq) != seq:
			t.Fatalf("message %d is entry %s, want %s (out of order, lost or doubled)", i+1, m.Header.Get(kvnats.HeaderSeq), seq)
		case m.Subject != subject:
			t.Fatalf("entry %s on %q, want %q", seq, m.Subject, subject)
		case string(m.Data) != payload:
			t.Fatalf("entry %s: payload %q, want %q", seq, m.Data, payload)
		case m.Header.Get(jetstream.MsgIDHeader) != kvnats.MsgID(id, prefix, r.Seq):
			t.Fatalf("entry %s: message id %q", seq, m.Header.Get(jetstream.MsgIDHeader))
		case m.Header.Get(kvnats.HeaderAction) != r.Action || m.Header.Get(kvnats.HeaderVersion) != strconv.FormatInt(r.Version, 10):
			t.Fatalf("entry %s: headers %v", seq, m.Header)
		}
	}
}

// putKeys puts the keys "k/<i>" for i from from to from+n-1, 100 to a
// transaction, each with the value i.
func putKeys(t testing.TB, store *kvcore.Store, from, n int) {
	t.Helper()
	for i := from; i < from+n; {
		var muts []kvcore.Mutation
		for ; i < from+n && len(muts) < 100; i++ {
			muts = append(muts, kvcore.Put(fmt.Sprintf("k/%d", i), -1, i))
		}
		if _, err := store.MutateAll(context.Background(), muts...); err != nil {
			t.Fatal(err)
		}
	}
}
