package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/examples/internal/orders"
)

func runFeed(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a safety net only
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, args, &out); err != nil {
		t.Fatalf("run %q: %v\n%s", args, err, out.String())
	}
	return out.String()
}

// A consumer prints each change once, in commit order; run again, it
// resumes after its committed position; a new consumer starts at the start.
func TestChangefeedResumes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "feed.db")
	checks := []struct {
		args []string
		want string
	}{
		{[]string{"-db", db, "-writes", "3"}, `consumer printer is new: reading from the start
seq 1: create order/0001 v1 {"item":"book","status":"new"}
seq 2: update order/0001 v2 {"item":"book","status":"shipped"}
seq 3: create order/0002 v1 {"item":"lamp","status":"new"}
consumer printer committed seq 3; 0 changes after it
`},
		{[]string{"-db", db, "-writes", "2"}, `consumer printer resumes after seq 3
seq 4: create order/0003 v1 {"item":"chair","status":"new"}
seq 5: update order/0003 v2 {"item":"chair","status":"shipped"}
consumer printer committed seq 5; 0 changes after it
`},
		{[]string{"-db", db, "-writes", "0"}, `consumer printer resumes after seq 5
consumer printer committed seq 5; 0 changes after it
`},
		{[]string{"-db", db, "-writes", "0", "-consumer", "audit"}, `consumer audit is new: reading from the start
seq 1: create order/0001 v1 {"item":"book","status":"new"}
seq 2: update order/0001 v2 {"item":"book","status":"shipped"}
seq 3: create order/0002 v1 {"item":"lamp","status":"new"}
seq 4: create order/0003 v1 {"item":"chair","status":"new"}
seq 5: update order/0003 v2 {"item":"chair","status":"shipped"}
consumer audit committed seq 5; 0 changes after it
`},
	}
	for _, c := range checks {
		if got := runFeed(t, c.args...); got != c.want {
			t.Errorf("run %q:\n got:\n%s\nwant:\n%s", c.args, got, c.want)
		}
	}
}

// syncBuffer is a bytes.Buffer that the program and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until out contains s (or the test's deadline passes).
func waitFor(t *testing.T, ctx context.Context, out *syncBuffer, s string) {
	t.Helper()
	for !strings.Contains(out.String(), s) {
		select {
		case <-ctx.Done():
			t.Fatalf("output never contained %q:\n%s", s, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// With -follow, the consumer prints changes another writer (here a second
// database handle on the same file, as another process would be) makes
// while it runs, and a cancelled context (SIGINT) stops it cleanly.
func TestChangefeedFollowsNewChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.db")
	deadline, cancelDeadline := context.WithTimeout(context.Background(), time.Minute) // a safety net only
	defer cancelDeadline()
	ctx, interrupt := context.WithCancel(deadline)
	defer interrupt()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-db", path, "-writes", "1", "-follow", "1m"}, out) }()
	waitFor(t, deadline, out, "seq 1: create order/0001 v1")

	other, err := sqlitekv.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	store, err := other.Store()
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Put(deadline, "order/x", -1, orders.Order{Item: "pen", Status: "new"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, deadline, out, `seq 2: create order/x v1 {"item":"pen","status":"new"}`)
	interrupt()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.HasSuffix(out.String(), "consumer printer committed seq 2; 0 changes after it\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

// Bad flags are clear errors and write nothing.
func TestChangefeedBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-writes", "-1"}, {"-follow", "-1s"}, {"-consumer", ""}, {"extra"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err == nil {
			t.Errorf("run %q: no error; output:\n%s", args, out.String())
		} else if out.Len() != 0 {
			t.Errorf("run %q failed (%v) but printed:\n%s", args, err, out.String())
		}
	}
}
