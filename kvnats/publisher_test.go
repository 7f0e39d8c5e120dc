package kvnats_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/kvnats"
	"github.com/kvsuite/kv/kvnats/kvnatstest"
	"github.com/kvsuite/kv/kvstream"
	"github.com/kvsuite/kv/kvstream/driver"
)

// noStream is a stream driver none of these tests reaches: they call the
// publisher's batch handler themselves, with records they make. Runs over
// real backends are in the integration module.
type noStream struct{ driver.Stream }

// newPublisher returns a publisher with the identity "test", quick
// retries, and its log.
func newPublisher(t *testing.T, nc *nats.Conn, opts ...kvnats.Option) (*kvnats.Publisher, *kvnatstest.Log) {
	t.Helper()
	s, err := kvstream.New(noStream{})
	if err != nil {
		t.Fatal(err)
	}
	log := &kvnatstest.Log{}
	opts = append([]kvnats.Option{kvnats.Source("test"), kvnats.RetryBackoff(5*time.Millisecond, 50*time.Millisecond),
		kvnats.Logger(slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})))}, opts...)
	p, err := kvnats.New(s, nc, "pub", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p, log
}

// records returns the entries seq from to from+n-1: a create of key
// "k/<seq>" whose value is {"i":<seq>}.
func records(from, n int) []kvstream.Record {
	out := make([]kvstream.Record, n)
	for i := range out {
		seq := int64(from + i)
		out[i] = kvstream.Record{Seq: seq, Key: fmt.Sprintf("k/%d", seq), Action: "create", Version: 1, Type: "T",
			Value: json.RawMessage(fmt.Sprintf(`{"i":%d}`, seq)), Time: time.Unix(1700000000+seq, 0).UTC()}
	}
	return out
}

// checkStored fails t unless the JetStream stream name holds exactly the
// entries 1 to n, once each, in seq order, each on its subject.
func checkStored(t *testing.T, nc *nats.Conn, name, prefix string, n int) {
	t.Helper()
	msgs := kvnatstest.Messages(t, nc, name)
	if len(msgs) != n {
		t.Fatalf("the JetStream stream holds %d messages, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		seq := strconv.Itoa(i + 1)
		if got := m.Header.Get(kvnats.HeaderSeq); got != seq {
			t.Fatalf("message %d is entry %s, want %s", i+1, got, seq)
		}
		if want := prefix + "._.k." + seq; m.Subject != want {
			t.Fatalf("entry %s on %q, want %q", seq, m.Subject, want)
		}
		if string(m.Data) != `{"i":`+seq+`}` {
			t.Fatalf("entry %s: payload %q", seq, m.Data)
		}
	}
}

// TestPublishExactlyOnce: a batch published again (as after a crash
// between publishing and committing) is dropped by JetStream, and the
// handler still reports it handled.
func TestPublishExactlyOnce(t *testing.T) {
	nc := kvnatstest.Connect(t)
	name, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{})
	p, log := newPublisher(t, nc, kvnats.SubjectPrefix(prefix))
	ctx := context.Background()
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Publish(ctx, records(1, 300)); n != 300 || err != nil {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	checkStored(t, nc, name, prefix, 300)
	if n, err := p.Publish(ctx, records(1, 350)); n != 350 || err != nil {
		t.Fatalf("Publish again = %d, %v", n, err)
	}
	checkStored(t, nc, name, prefix, 350)
	if !strings.Contains(log.String(), "duplicates=300 first=1 last=350") {
		t.Errorf("the duplicates are not logged:\n%s", log)
	}
}

// TestPublishHeaders: what the headers and the subject carry reads back
// exactly, whatever the key, namespace and type hold.
func TestPublishHeaders(t *testing.T) {
	nc := kvnatstest.Connect(t)
	name, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{})
	p, _ := newPublisher(t, nc, kvnats.SubjectPrefix(prefix))
	ctx := context.Background()
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	recs := []kvstream.Record{
		{Seq: 1, Namespace: " ns/1 ", Key: "a b%\r\nX-Injected: yes", Action: "update", Version: 7, Type: "T t", Value: json.RawMessage(`"v"`), Time: time.Unix(5, 0)},
		{Seq: 2, Namespace: "", Key: "é.*>", Action: "delete", Version: 8, Type: "", Time: time.Unix(6, 0)},
		{Seq: 3, Namespace: "n", Key: "t", Action: "touch", Version: 9, Type: "T", Time: time.Unix(7, 0)},
	}
	if n, err := p.Publish(ctx, recs); n != 3 || err != nil {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	msgs := kvnatstest.Messages(t, nc, name)
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, m := range msgs {
		r := recs[i]
		ns, key, err := kvnats.ParseSubject(prefix, m.Subject)
		if err != nil || ns != r.Namespace || key != r.Key {
			t.Errorf("subject %q parses as %q, %q, %v", m.Subject, ns, key, err)
		}
		for h, want := range map[string]string{kvnats.HeaderNamespace: r.Namespace, kvnats.HeaderKey: r.Key, kvnats.HeaderType: r.Type} {
			if got, err := kvnats.ParseHeader(m.Header.Get(h)); err != nil || got != want {
				t.Errorf("entry %d: header %s = %q (%q, %v), want %q", r.Seq, h, m.Header.Get(h), got, err, want)
			}
		}
		if m.Header.Get("X-Injected") != "" {
			t.Errorf("a key injected a header: %v", m.Header)
		}
		if m.Header.Get(kvnats.HeaderAction) != r.Action || m.Header.Get(kvnats.HeaderVersion) != strconv.FormatInt(r.Version, 10) {
			t.Errorf("entry %d: headers %v", r.Seq, m.Header)
		}
	}
	if string(msgs[0].Data) != `"v"` || len(msgs[1].Data) != 0 || len(msgs[2].Data) != 0 {
		t.Errorf("payloads %q, %q, %q", msgs[0].Data, msgs[1].Data, msgs[2].Data)
	}
}

// TestDuplicateWindow: a stream that forgets message ids sooner than the
// bound is refused at once; a lower bound accepts it, 0 skips the check.
func TestDuplicateWindow(t *testing.T) {
	nc := kvnatstest.Connect(t)
	_, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{Duplicates: 10 * time.Second})
	ctx := context.Background()
	p, log := newPublisher(t, nc, kvnats.SubjectPrefix(prefix))
	err := p.Prepare(ctx)
	if !errors.Is(err, kvnats.ErrDuplicateWindow) || !strings.Contains(err.Error(), "10s, less than the 2m0s required") {
		t.Fatalf("Prepare = %v, want ErrDuplicateWindow", err)
	}
	if strings.Contains(log.String(), "retrying") {
		t.Errorf("a refused window was retried:\n%s", log)
	}
	for _, d := range []time.Duration{10 * time.Second, 0} {
		p, _ := newPublisher(t, nc, kvnats.SubjectPrefix(prefix), kvnats.DuplicateWindow(d))
		if err := p.Prepare(ctx); err != nil {
			t.Errorf("DuplicateWindow(%v): %v", d, err)
		}
	}
}

// TestStreamMissing: a publisher waits for its JetStream stream, at the
// start and when it disappears under a batch, and then publishes the whole
// batch into it.
func TestStreamMissing(t *testing.T) {
	nc := kvnatstest.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	name, prefix := kvnatstest.Unique("KVTEST_"), kvnatstest.Unique("kvtest")
	t.Cleanup(func() { kvnatstest.DeleteStream(t, name) })
	create := func() {
		t.Helper()
		if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: name, Subjects: []string{prefix + ".>"}}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	// Found by its subjects, once it exists.
	p, log := newPublisher(t, nc, kvnats.SubjectPrefix(prefix))
	prepared := make(chan error, 1)
	go func() { prepared <- p.Prepare(ctx) }()
	log.WaitFor(t, "finding the JetStream stream failed: retrying")
	create()
	if err := <-prepared; err != nil {
		t.Fatal(err)
	}
	if n, err := p.Publish(ctx, records(1, 10)); n != 10 || err != nil {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	// Deleted under the next batch: retried until it is back.
	if err := js.DeleteStream(ctx, name); err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	published := make(chan result, 1)
	go func() {
		n, err := p.Publish(ctx, records(1, 200))
		published <- result{n, err}
	}()
	log.WaitFor(t, "publish failed: retrying")
	create()
	if r := <-published; r.n != 200 || r.err != nil {
		t.Fatalf("Publish = %d, %v", r.n, r.err)
	}
	checkStored(t, nc, name, prefix, 200)

	// A publisher whose context ends while it retries stops.
	cctx, cancel := context.WithCancel(ctx)
	p2, log2 := newPublisher(t, nc, kvnats.SubjectPrefix(kvnatstest.Unique("kvtest")), kvnats.DuplicateWindow(0))
	go func() { prepared <- p2.Prepare(cctx) }()
	log2.WaitFor(t, "retrying")
	cancel()
	if err := <-prepared; !errors.Is(err, context.Canceled) {
		t.Errorf("Prepare after cancel = %v", err)
	}
}

// TestUnpublishable: an entry too large for the stream or for NATS ends
// the batch before it, with an error saying why; the entries before it
// are published.
func TestUnpublishable(t *testing.T) {
	nc := kvnatstest.Connect(t)
	ctx := context.Background()
	big := func(n int) []kvstream.Record {
		recs := records(1, 6)
		recs[3].Value = json.RawMessage(`"` + strings.Repeat("x", n) + `"`)
		return recs
	}
	name, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{MaxMsgSize: 1000})
	p, _ := newPublisher(t, nc, kvnats.SubjectPrefix(prefix))
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := p.Publish(ctx, big(2000))
	if n != 3 || !errors.Is(err, kvnats.ErrUnpublishable) || !strings.Contains(err.Error(), `key "k/4"`) ||
		!strings.Contains(err.Error(), "max message size (1000)") {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	checkStored(t, nc, name, prefix, 3)

	name, prefix = kvnatstest.Stream(t, nc, jetstream.StreamConfig{})
	p, _ = newPublisher(t, nc, kvnats.SubjectPrefix(prefix))
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	n, err = p.Publish(ctx, big(int(nc.MaxPayload())))
	if n != 3 || !errors.Is(err, kvnats.ErrUnpublishable) || !strings.Contains(err.Error(), "max_payload") {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	checkStored(t, nc, name, prefix, 3)
}

// TestStreamNotUsable: a stream that does not acknowledge, several streams
// taking the subjects, and a named stream that does not take them stop
// the publisher (ErrStream) instead of retrying.
func TestStreamNotUsable(t *testing.T) {
	nc := kvnatstest.Connect(t)
	ctx := context.Background()
	_, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{NoAck: true})
	p, _ := newPublisher(t, nc, kvnats.SubjectPrefix(prefix))
	if err := p.Prepare(ctx); !errors.Is(err, kvnats.ErrStream) || !strings.Contains(err.Error(), "no_ack") {
		t.Errorf("no-ack stream: %v", err)
	}

	name, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{})
	other, _ := kvnatstest.Stream(t, nc, jetstream.StreamConfig{})
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// Two streams take parts of the subjects of another prefix.
	split := kvnatstest.Unique("kvtest")
	for _, part := range []string{"a", "b"} {
		n := kvnatstest.Unique("KVTEST_")
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: n, Subjects: []string{split + "." + part + ".>"}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { kvnatstest.DeleteStream(t, n) })
	}
	p, _ = newPublisher(t, nc, kvnats.SubjectPrefix(split))
	if err := p.Prepare(ctx); !errors.Is(err, kvnats.ErrStream) || !strings.Contains(err.Error(), "name one") {
		t.Errorf("two streams: %v", err)
	}

	// Named stream other does not take the subjects; name does.
	p, _ = newPublisher(t, nc, kvnats.SubjectPrefix(prefix), kvnats.JetStreamStream(other))
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := p.Publish(ctx, records(1, 3))
	if n != 0 || !errors.Is(err, kvnats.ErrStream) {
		t.Errorf("Publish into a stream that does not take the subjects = %d, %v", n, err)
	}
	if msgs := kvnatstest.Messages(t, nc, name); len(msgs) != 0 {
		t.Errorf("%d messages went to the stream that takes the subjects", len(msgs))
	}
}

func TestNewBadInput(t *testing.T) {
	nc := kvnatstest.Connect(t)
	s, err := kvstream.New(noStream{})
	if err != nil {
		t.Fatal(err)
	}
	buffered, err := nats.Connect(kvnatstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer buffered.Close()
	for _, tt := range []struct {
		name     string
		s        *kvstream.Stream
		nc       *nats.Conn
		consumer string
		opts     []kvnats.Option
		want     string
	}{
		{"nil stream", nil, nc, "c", nil, "needs a stream"},
		{"nil connection", s, nil, "c", nil, "needs a stream and a NATS connection"},
		{"buffering connection", s, buffered, "c", nil, "ReconnectBufSize(-1)"},
		{"empty consumer", s, nc, "", nil, "consumer name is empty"},
		{"bad prefix", s, nc, "c", []kvnats.Option{kvnats.SubjectPrefix("kv.>")}, `subject prefix "kv.>"`},
		{"negative window", s, nc, "c", []kvnats.Option{kvnats.DuplicateWindow(-time.Second)}, "duplicate window -1s"},
		{"no ack wait", s, nc, "c", []kvnats.Option{kvnats.AckWait(0)}, "ack wait 0s"},
		{"bad source", s, nc, "c", []kvnats.Option{kvnats.Source("a/b")}, `source "a/b"`},
		{"long source", s, nc, "c", []kvnats.Option{kvnats.Source(strings.Repeat("a", 65))}, "longer than 64"},
		{"bad stream name", s, nc, "c", []kvnats.Option{kvnats.JetStreamStream("a\x00")}, "JetStream stream name"},
		{"bad batch size", s, nc, "c", []kvnats.Option{kvnats.ConsumerOptions(kvstream.BatchSize(kvstream.MaxLimit + 1))}, "batch size"},
		{"create without a name", s, nc, "c", []kvnats.Option{kvnats.CreateIfMissing()}, "needs the stream's name"},
	} {
		p, err := kvnats.New(tt.s, tt.nc, tt.consumer, tt.opts...)
		if p != nil || !errors.Is(err, kvnats.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, %v; want ErrInvalidArgument saying %q", tt.name, p, err, tt.want)
		}
	}
	if _, err := kvnats.CreateStream(context.Background(), nc, "x", "kv.*", 0); !errors.Is(err, kvnats.ErrInvalidArgument) {
		t.Errorf("CreateStream with a bad prefix: %v", err)
	}
}

// TestCreateStream: creates the stream for <prefix>.> with the window, and
// leaves an existing one alone.
func TestCreateStream(t *testing.T) {
	nc := kvnatstest.Connect(t)
	ctx := context.Background()
	name, prefix := kvnatstest.Unique("KVTEST_"), kvnatstest.Unique("kvtest")
	t.Cleanup(func() { kvnatstest.DeleteStream(t, name) })
	for i, want := range []bool{true, false} {
		created, err := kvnats.CreateStream(ctx, nc, name, prefix, time.Duration(i+3)*time.Minute)
		if err != nil || created != want {
			t.Fatalf("CreateStream #%d = %v, %v; want %v", i+1, created, err, want)
		}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.Duplicates != 3*time.Minute || len(cfg.Subjects) != 1 || cfg.Subjects[0] != prefix+".>" {
		t.Errorf("stream config: window %v, subjects %v", cfg.Duplicates, cfg.Subjects)
	}
}

// TestCreateIfMissing: a publisher creates its named stream when it finds
// it missing, at the start and under a batch, with the bound as window.
func TestCreateIfMissing(t *testing.T) {
	nc := kvnatstest.Connect(t)
	ctx := context.Background()
	name, prefix := kvnatstest.Unique("KVTEST_"), kvnatstest.Unique("kvtest")
	t.Cleanup(func() { kvnatstest.DeleteStream(t, name) })
	p, log := newPublisher(t, nc, kvnats.SubjectPrefix(prefix), kvnats.JetStreamStream(name), kvnats.CreateIfMissing(),
		kvnats.DuplicateWindow(3*time.Minute))
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if w := s.CachedInfo().Config.Duplicates; w != 3*time.Minute {
		t.Errorf("created with window %v", w)
	}
	if err := js.DeleteStream(ctx, name); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Publish(ctx, records(1, 20)); n != 20 || err != nil {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	checkStored(t, nc, name, prefix, 20)
	if c := strings.Count(log.String(), "created the JetStream stream"); c != 2 {
		t.Errorf("created %d times, want 2:\n%s", c, log)
	}
}

// TestRunCancelled: a Run whose context ends, before or while it starts,
// returns nil.
func TestRunCancelled(t *testing.T) {
	nc := kvnatstest.Connect(t)
	_, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{})
	p, _ := newPublisher(t, nc, kvnats.SubjectPrefix(prefix))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Run(ctx); err != nil {
		t.Errorf("Run with an ended context = %v", err)
	}
}
