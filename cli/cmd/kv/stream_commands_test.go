package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/kvcore"
)

// outStreamRecord is a stream record as kv prints it.
type outStreamRecord struct {
	Seq       int64           `json:"seq"`
	Namespace string          `json:"namespace"`
	Key       string          `json:"key"`
	Action    string          `json:"action"`
	Version   int64           `json:"version"`
	Type      string          `json:"type"`
	Value     json.RawMessage `json:"value"`
	Time      time.Time       `json:"time"`
}

// streamRecords parses kv's JSON Lines of stream records strictly.
func streamRecords(t *testing.T, out string) []outStreamRecord {
	t.Helper()
	var rs []outStreamRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
			t.Fatalf("output line %q is not a JSON object: %v", sc.Text(), err)
		}
		for _, f := range []string{"seq", "namespace", "key", "action", "version", "type", "value", "time"} {
			if _, ok := fields[f]; !ok {
				t.Fatalf("output line %q has no %q field", sc.Text(), f)
			}
		}
		var r outStreamRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		rs = append(rs, r)
	}
	return rs
}

// seqs returns the seqs of stream records, e.g. "1,2,3".
func seqs(rs []outStreamRecord) string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprint(r.Seq))
	}
	return strings.Join(s, ",")
}

// streamOut runs kv and returns the seqs of the stream records it printed.
func streamOut(t *testing.T, args ...string) string {
	t.Helper()
	return seqs(streamRecords(t, mustKV(t, "", args...)))
}

// fillStream writes 6 changes: seq 1 a (User), 2 b (Post), 3 a again,
// 4 a deleted, 5 c in namespace other (User), 6 d (User).
func fillStream(t *testing.T, conn string) {
	t.Helper()
	mustKV(t, `{"n":1}`, "put", "a", "--record-type", "User", conn)
	mustKV(t, `{"n":2}`, "put", "b", "--record-type", "Post", conn)
	mustKV(t, `{"n":3}`, "patch", "a", conn)
	mustKV(t, "", "delete", "a", conn)
	mustKV(t, `{"n":5}`, "put", "c", "--record-type", "User", "--namespace", "other", conn)
	mustKV(t, `{"n":6}`, "put", "d", "--record-type", "User", conn)
}

// TestStreamTouchRecord: kv touch appends a touch record (the record's
// version and type, value null) that stream get prints and consumers
// filtered by type get; a touch of a missing key appends nothing.
func TestStreamTouchRecord(t *testing.T) {
	conn, _ := newDB(t)
	mustKV(t, `{"n":1}`, "put", "a", "--record-type", "User", "--ttl", "1m", conn)
	mustKV(t, `{"n":2}`, "put", "b", "--record-type", "Post", conn)
	mustKV(t, "", "touch", "a", "--ttl", "1h", conn)
	runSteps(t, conn, []step{
		{name: "touch missing", args: []string{"touch", "missing", "--ttl", "1h"}, code: 1, stderr: "not found"},
	})
	rs := streamRecords(t, mustKV(t, "", "stream", "get", conn))
	if seqs(rs) != "1,2,3" {
		t.Fatalf("stream get: seqs %s", seqs(rs))
	}
	if r := rs[2]; r.Key != "a" || r.Action != "touch" || r.Version != 1 || r.Type != "User" || string(r.Value) != "null" {
		t.Errorf("touch record = %+v, value %s", r, r.Value)
	}
	if got := streamOut(t, "consumer", "get", "users", "--of-type", "User", conn); got != "1,3" {
		t.Errorf("consumer get --of-type User: %q, want 1,3", got)
	}
	if got := streamOut(t, "consumer", "get", "posts", "--of-type", "Post", conn); got != "2" {
		t.Errorf("consumer get --of-type Post: %q, want 2", got)
	}
}

func TestStreamGetSeqTrim(t *testing.T) {
	conn, _ := newDB(t)
	runSteps(t, conn, []step{
		{name: "init", args: []string{"init"}},
		{name: "empty seq", args: []string{"stream", "seq"}, wantOut: true, stdout: "0\n"},
		{name: "empty get", args: []string{"stream", "get"}, wantOut: true, stdout: ""},
	})
	before := time.Now().Add(-time.Second)
	fillStream(t, conn)

	rs := streamRecords(t, mustKV(t, "", "stream", "get", conn))
	if seqs(rs) != "1,2,3,4,5,6" {
		t.Fatalf("stream get: seqs %s", seqs(rs))
	}
	want := []struct {
		ns, key, action, typ, value string
		version                     int64
	}{
		{"", "a", "create", "User", `{"n":1}`, 1},
		{"", "b", "create", "Post", `{"n":2}`, 1},
		{"", "a", "update", "User", `{"n":3}`, 2},
		{"", "a", "delete", "User", `null`, 2},
		{"other", "c", "create", "User", `{"n":5}`, 1},
		{"", "d", "create", "User", `{"n":6}`, 1},
	}
	for i, w := range want {
		r := rs[i]
		if r.Namespace != w.ns || r.Key != w.key || r.Action != w.action || r.Version != w.version || r.Type != w.typ {
			t.Errorf("record %d = %+v, want %+v", i+1, r, w)
		}
		if string(r.Value) != w.value {
			t.Errorf("record %d value %s, want %s", i+1, r.Value, w.value)
		}
		if r.Time.Before(before) || r.Time.Location() != time.UTC {
			t.Errorf("record %d time %v", i+1, r.Time)
		}
	}

	runSteps(t, conn, []step{
		{name: "seq", args: []string{"stream", "seq"}, wantOut: true, stdout: "6\n"},
	})
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"stream", "get", "0"}, "1,2,3,4,5,6"},
		{[]string{"stream", "get", "3"}, "3,4,5,6"},
		{[]string{"stream", "get", "3", "2"}, "3,4"},
		{[]string{"stream", "get", "0", "1"}, "1"},
		{[]string{"stream", "get", "0", "0"}, "1,2,3,4,5,6"},
		{[]string{"stream", "get", "7"}, ""},
		{[]string{"stream", "get", "100"}, ""},
		{[]string{"stream", "get", "--of-type=User"}, "1,3,4,5,6"},
		{[]string{"stream", "get", "2", "3", "--of-type", "User"}, "3,4,5"},
		{[]string{"stream", "get", "--of-type=Nothing"}, ""},
		{[]string{"stream", "get", "--stream=other"}, "5"},
		{[]string{"stream", "get", "--stream", ""}, "1,2,3,4,6"},
		{[]string{"stream", "get", "--stream", "*", "--of-type=User", "5"}, "5,6"},
		// --namespace does not filter the stream.
		{[]string{"stream", "get", "--namespace=other"}, "1,2,3,4,5,6"},
	} {
		if got := streamOut(t, append(tt.args, conn)...); got != tt.want {
			t.Errorf("kv %q: seqs %q, want %q", tt.args, got, tt.want)
		}
	}

	// Trim: prints where the stream is trimmed to; reading a trimmed seq
	// fails and says where the stream starts; 0 starts there.
	runSteps(t, conn, []step{
		{name: "trim", args: []string{"stream", "trim", "3"}, wantOut: true, stdout: "3\n"},
		{name: "trim back changes nothing", args: []string{"stream", "trim", "1"}, wantOut: true, stdout: "3\n"},
		{name: "get trimmed", args: []string{"stream", "get", "2"}, code: 1, stderr: "stream position 2 was trimmed: the stream now starts at 4"},
		{name: "seq after trim", args: []string{"stream", "seq"}, wantOut: true, stdout: "6\n"},
		{name: "trim past the end", args: []string{"stream", "trim", "50"}, wantOut: true, stdout: "6\n", stderr: "stopped at 6, short of 50: the stream ends at 6"},
		{name: "get after trimming all", args: []string{"stream", "get"}, wantOut: true, stdout: ""},
	})
	if got := streamOut(t, "stream", "get", "7", conn); got != "" {
		t.Errorf("get 7 after trimming everything: %s", got)
	}
	mustKV(t, `{}`, "put", "e", conn)
	if got := streamOut(t, "stream", "get", conn); got != "7" {
		t.Errorf("get after a new write: %s", got)
	}
}

// TestStreamGetPages: an unlimited get reads past kvstream's largest batch.
func TestStreamGetPages(t *testing.T) {
	conn, path := newDB(t)
	ctx := context.Background()
	b, err := open.Open(ctx, open.Config{Type: "sqlite", Connection: "file:" + path + "?mode=rwc"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Store.Init(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 10050
	for i := 0; i < n; i += 1000 {
		var ms []kvcore.Mutation
		for j := i; j < min(n, i+1000); j++ {
			ms = append(ms, kvcore.Put(fmt.Sprintf("k%05d", j), -1, []byte("1")))
		}
		if _, err := b.Store.MutateAll(ctx, ms...); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	rs := streamRecords(t, mustKV(t, "", "stream", "get", conn))
	if len(rs) != n || rs[0].Seq != 1 || rs[n-1].Seq != n {
		t.Fatalf("stream get: %d records", len(rs))
	}
	for i, r := range rs {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
	}
	if rs := streamRecords(t, mustKV(t, "", "stream", "get", "10", "10020", conn)); len(rs) != 10020 || rs[0].Seq != 10 {
		t.Errorf("stream get 10 10020: %d records", len(rs))
	}
}

// syncBuffer is an output that a running kv writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// background runs kv in a goroutine with ctx; wait returns its result.
func background(ctx context.Context, args ...string) (stdout, stderr *syncBuffer, wait func() result) {
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, strings.NewReader(""), stdout, stderr) }()
	return stdout, stderr, func() result {
		code := <-done
		return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
	}
}

// eventually waits up to 10s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
