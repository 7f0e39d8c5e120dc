package natspublish_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvnats"
	"github.com/kvsuite/kv/kvnats/kvnatstest"
	"github.com/kvsuite/kv/kvstream"
)

// startNATS starts an embedded NATS server with JetStream on loopback,
// keeping its store in dir, on port (-1: a free one), shut down when t
// ends.
func startNATS(t *testing.T, dir string, port int) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		t.Fatal("the embedded NATS server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s
}

// TestNATSRestart: the NATS server is shut down and started again twice
// while entries are written and published (the embedded server, on its
// own port and store, not the machine's). The publisher retries while it
// is down; at the end the JetStream stream holds every entry exactly
// once, in seq order.
func TestNATSRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind, where string) {
		const total = 2000
		ctx := context.Background()
		dir := t.TempDir()
		srv := startNATS(t, dir, -1)
		port := srv.Addr().(*net.TCPAddr).Port
		nc, err := kvnats.Connect(srv.ClientURL(), nats.ReconnectWait(20*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kvnats.CreateStream(ctx, nc, "KV", "kv", 0); err != nil {
			t.Fatal(err)
		}
		db := mustOpen(t, kind, where)
		store, err := db.Store(kvcore.WithSweepInterval(0))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		s, err := kvstream.New(db, kvstream.WithMaxPoll(20*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		log := &kvnatstest.Log{}
		p, err := kvnats.New(s, nc, "pusher", kvnats.Logger(slog.New(slog.NewTextHandler(log, nil))),
			kvnats.RetryBackoff(10*time.Millisecond, 100*time.Millisecond), kvnats.AckWait(2*time.Second),
			kvnats.ConsumerOptions(kvstream.BatchSize(100), kvstream.LeaseDuration(5*time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		stop := start(t, p)
		writeErr := make(chan error, 1)
		go func() {
			for i := 0; i < total; i += 20 {
				var muts []kvcore.Mutation
				for j := i; j < i+20; j++ {
					muts = append(muts, kvcore.Put(fmt.Sprintf("k/%d", j), -1, j))
				}
				if _, err := store.MutateAll(ctx, muts...); err != nil {
					writeErr <- err
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
			writeErr <- nil
		}()
		for r := 1; r <= 2; r++ {
			deadline := time.Now().Add(time.Minute)
			for storedCount(t, js, "KV") < uint64(r*total/3) {
				if time.Now().After(deadline) {
					t.Fatalf("restart %d: only %d entries stored:\n%s", r, storedCount(t, js, "KV"), log)
				}
				time.Sleep(time.Millisecond)
			}
			srv.Shutdown()
			srv.WaitForShutdown()
			time.Sleep(300 * time.Millisecond) // entries are written meanwhile
			srv = startNATS(t, dir, port)
		}
		if err := <-writeErr; err != nil {
			t.Fatal(err)
		}
		last, err := s.Seq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		waitCommitted(t, s, "pusher", last, 2*time.Minute)
		if err := stop(); err != nil {
			t.Fatalf("Run = %v", err)
		}
		id, err := kvnats.Identity(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		checkExactlyOnce(t, nc, "KV", "kv", id, entries(t, s))
		if !strings.Contains(log.String(), "publish failed: retrying") {
			t.Fatalf("no publish failed while NATS was down:\n%s", log)
		}
		t.Logf("%s: %d entries exactly once across 2 NATS restarts; %d publish retries", kind, total,
			strings.Count(log.String(), "publish failed: retrying"))
	})
}
