// Package kvnatstest serves tests that need a NATS server with JetStream:
// it finds the server (KV_TEST_NATS_URL, or the local one at
// nats://127.0.0.1:4222), skips a test that has none, saying why (or fails
// it when KV_REQUIRE_NATS=1, as CI sets), and gives each test a JetStream
// stream of its own, deleted when the test ends.
package kvnatstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/kvnats"
)

// DefaultURL is the server tests use when KV_TEST_NATS_URL is unset.
const DefaultURL = "nats://127.0.0.1:4222"

// URL returns the NATS server tests use.
func URL() string {
	if u := os.Getenv("KV_TEST_NATS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

var (
	checkOnce sync.Once
	missing   string
)

// Missing returns why no NATS server with JetStream answers at URL(), or
// "" if one does. It asks once per process.
func Missing() string {
	checkOnce.Do(func() {
		nc, err := nats.Connect(URL(), nats.Timeout(5*time.Second))
		if err != nil {
			missing = fmt.Sprintf("no NATS server at %s (set KV_TEST_NATS_URL): %v", URL(), err)
			return
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = js.AccountInfo(ctx)
		}
		if err != nil {
			missing = fmt.Sprintf("the NATS server at %s has no JetStream (start it with -js): %v", URL(), err)
		}
	})
	return missing
}

// Need skips t, saying why, when no NATS server with JetStream answers,
// or fails it when KV_REQUIRE_NATS=1.
func Need(t testing.TB) {
	t.Helper()
	why := Missing()
	switch {
	case why == "":
	case os.Getenv("KV_REQUIRE_NATS") == "1":
		t.Fatalf("KV_REQUIRE_NATS=1 but %s", why)
	default:
		t.Skip(why)
	}
}

// Connect connects to the test server as kvnats.Connect does, after Need;
// the connection is closed when t ends.
func Connect(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	Need(t)
	nc, err := kvnats.Connect(URL(), opts...)
	if err != nil {
		t.Fatalf("connect to NATS at %s: %v", URL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// Unique returns prefix followed by 12 random hex digits.
func Unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Stream creates a JetStream stream with a name of its own that takes the
// subjects "<subject prefix>.>" of a subject prefix of its own, with the
// other settings of cfg, and deletes it when t ends. It returns the
// stream's name and the subject prefix.
func Stream(t testing.TB, nc *nats.Conn, cfg jetstream.StreamConfig) (name, prefix string) {
	t.Helper()
	name, prefix = Unique("KVTEST_"), Unique("kvtest")
	cfg.Name, cfg.Subjects = name, []string{prefix + ".>"}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		t.Fatalf("create JetStream stream %s: %v", name, err)
	}
	t.Cleanup(func() { DeleteStream(t, name) })
	return name, prefix
}

// DeleteStream deletes the JetStream stream name, if it exists, through a
// connection of its own (the test's may be closed by now).
func DeleteStream(t testing.TB, name string) {
	t.Helper()
	nc, err := nats.Connect(URL(), nats.Timeout(5*time.Second))
	if err != nil {
		t.Errorf("delete JetStream stream %s: %v", name, err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Error(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("delete JetStream stream %s: %v", name, err)
	}
}

// Msg is a message read back from a JetStream stream.
type Msg struct {
	Seq     uint64 // its position in the JetStream stream
	Subject string
	Header  nats.Header
	Data    []byte
}

// Messages returns every message of the JetStream stream name, in stream
// order.
func Messages(t testing.TB, nc *nats.Conn, name string) []Msg {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("JetStream stream %s: %v", name, err)
	}
	st := s.CachedInfo().State
	var out []Msg
	for seq := st.FirstSeq; st.Msgs > 0 && seq <= st.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("JetStream stream %s: message %d: %v", name, seq, err)
		}
		out = append(out, Msg{Seq: m.Sequence, Subject: m.Subject, Header: m.Header, Data: m.Data})
	}
	return out
}

// Log is a log destination safe for concurrent writes: a slog handler's,
// or a child process's stderr.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// WaitFor waits until the log holds s, failing t if it does not within
// 20 seconds.
func (l *Log) WaitFor(t testing.TB, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(l.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q:\n%s", s, l.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
