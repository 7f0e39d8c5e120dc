package natspublish_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
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

var benchEntries = flag.Int("natspublish.entries", 10000, "entries BenchmarkPublish publishes per iteration and way")

// benchBatch is the batch size of both ways of BenchmarkPublish.
const benchBatch = 1000

// BenchmarkPublish publishes the same entries of a SQLite database to the
// NATS server twice per iteration, each time into a JetStream stream of
// its own, and reports each way's entries/s and x-sync, the ratio of
// kvnats's rate to the baseline's (measured in the same run):
//
//   - sync, the baseline: a consumer whose handler publishes each entry
//     and waits for JetStream's acknowledgement before the next (one round
//     trip per entry), with the same subject, headers and message id;
//   - kvnats: a Publisher, which publishes each batch at once and waits
//     for all its acknowledgements.
//
// Both read batches of 1000 entries and commit after each batch. Run it
// on a quiet machine:
//
//	cd integration && go test -run '^$' -bench Publish -benchtime 5x ./natspublish
func BenchmarkPublish(b *testing.B) {
	ctx := context.Background()
	nc := kvnatstest.Connect(b)
	db := mustOpen(b, "sqlite", newSQLite(b))
	store, err := db.Store(kvcore.WithSweepInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	putKeys(b, store, 0, *benchEntries)
	s, err := kvstream.New(db, kvstream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	last, err := s.Seq(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var syncTook, kvTook time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		syncTook += benchRun(b, nc, s, fmt.Sprintf("sync-%d", i), last, benchSync)
		kvTook += benchRun(b, nc, s, fmt.Sprintf("kvnats-%d", i), last, benchKVNats)
	}
	n := float64(*benchEntries * b.N)
	b.ReportMetric(n/syncTook.Seconds(), "sync-entries/s")
	b.ReportMetric(n/kvTook.Seconds(), "kvnats-entries/s")
	b.ReportMetric(syncTook.Seconds()/kvTook.Seconds(), "x-sync")
}

// benchWay publishes the entries of s as consumer into the JetStream
// stream name under prefix until ctx ends.
type benchWay func(ctx context.Context, b *testing.B, nc *nats.Conn, s *kvstream.Stream, consumer, name, prefix string) error

// benchRun times way publishing every entry up to last into a new
// JetStream stream, until the consumer committed last; it checks that the
// stream then holds them all.
func benchRun(b *testing.B, nc *nats.Conn, s *kvstream.Stream, consumer string, last int64, way benchWay) time.Duration {
	b.StopTimer()
	name, prefix := kvnatstest.Stream(b, nc, jetstream.StreamConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.StartTimer()
	began := time.Now()
	go func() { done <- way(ctx, b, nc, s, consumer, name, prefix) }()
	for position(b, s, consumer) < last {
		select {
		case err := <-done:
			b.Fatalf("%s stopped: %v", consumer, err)
		case <-time.After(time.Millisecond):
		}
	}
	took := time.Since(began)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatalf("%s: %v", consumer, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if got := storedCount(b, js, name); got != uint64(last) {
		b.Fatalf("%s: %d entries stored of %d", consumer, got, last)
	}
	kvnatstest.DeleteStream(b, name)
	b.StartTimer()
	return took
}

// benchKVNats is a Publisher.
func benchKVNats(ctx context.Context, _ *testing.B, nc *nats.Conn, s *kvstream.Stream, consumer, name, prefix string) error {
	p, err := kvnats.New(s, nc, consumer, kvnats.SubjectPrefix(prefix), kvnats.JetStreamStream(name),
		kvnats.Logger(slog.New(slog.DiscardHandler)), kvnats.ConsumerOptions(kvstream.BatchSize(benchBatch)))
	if err != nil {
		return err
	}
	return p.Run(ctx)
}

// benchSync publishes one entry at a time and waits for each
// acknowledgement.
func benchSync(ctx context.Context, _ *testing.B, nc *nats.Conn, s *kvstream.Stream, consumer, name, prefix string) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	c, err := s.Consumer(consumer, kvstream.BatchSize(benchBatch))
	if err != nil {
		return err
	}
	return c.Run(ctx, func(ctx context.Context, r kvstream.Record) error {
		subject, err := kvnats.Subject(prefix, r.Namespace, r.Key)
		if err != nil {
			return err
		}
		h := nats.Header{}
		h.Set(kvnats.HeaderAction, r.Action)
		h.Set(kvnats.HeaderNamespace, r.Namespace)
		h.Set(kvnats.HeaderKey, r.Key)
		h.Set(kvnats.HeaderVersion, strconv.FormatInt(r.Version, 10))
		h.Set(kvnats.HeaderType, r.Type)
		h.Set(kvnats.HeaderSeq, strconv.FormatInt(r.Seq, 10))
		h.Set(kvnats.HeaderTime, r.Time.Format(time.RFC3339Nano))
		_, err = js.PublishMsg(ctx, &nats.Msg{Subject: subject, Header: h, Data: r.Value},
			jetstream.WithMsgID(kvnats.MsgID("bench", prefix, r.Seq)), jetstream.WithExpectStream(name))
		return err
	})
}
