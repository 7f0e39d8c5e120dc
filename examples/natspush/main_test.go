package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvnats/kvnatstest"
)

// The publisher publishes each change once, in commit order, and the
// JetStream consumer reads them back; run again, it publishes only the
// changes written since.
func TestNatsPushResumes(t *testing.T) {
	kvnatstest.Need(t)
	db := filepath.Join(t.TempDir(), "push.db")
	stream, prefix := kvnatstest.Unique("KVTEST_"), kvnatstest.Unique("kvtest")
	t.Cleanup(func() { kvnatstest.DeleteStream(t, stream) })
	flags := []string{"-db", db, "-nats", kvnatstest.URL(), "-stream", stream, "-prefix", prefix}
	checks := []struct {
		writes string
		want   string
	}{
		{"3", `publishing seq 1 to 3 into JetStream stream STREAM (subjects PREFIX.>)
PREFIX._.order.0001: seq 1 create namespace "" key "order/0001" v1 {"item":"book","status":"new"}
PREFIX._.order.0001: seq 2 update namespace "" key "order/0001" v2 {"item":"book","status":"shipped"}
PREFIX._.order.0002: seq 3 create namespace "" key "order/0002" v1 {"item":"lamp","status":"new"}
published up to seq 3; JetStream stream STREAM holds 3 messages
`},
		{"2", `publishing seq 4 to 5 into JetStream stream STREAM (subjects PREFIX.>)
PREFIX._.order.0003: seq 4 create namespace "" key "order/0003" v1 {"item":"chair","status":"new"}
PREFIX._.order.0003: seq 5 update namespace "" key "order/0003" v2 {"item":"chair","status":"shipped"}
published up to seq 5; JetStream stream STREAM holds 5 messages
`},
		{"0", `nothing to publish after seq 5
published up to seq 5; JetStream stream STREAM holds 5 messages
`},
	}
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a safety net only
		var out bytes.Buffer
		err := run(ctx, append(flags, "-writes", c.writes), &out)
		cancel()
		if err != nil {
			t.Fatalf("-writes %s: %v\n%s", c.writes, err, out.String())
		}
		want := bytes.ReplaceAll([]byte(c.want), []byte("STREAM"), []byte(stream))
		want = bytes.ReplaceAll(want, []byte("PREFIX"), []byte(prefix))
		if got := out.String(); got != string(want) {
			t.Errorf("-writes %s:\n got:\n%s\nwant:\n%s", c.writes, got, want)
		}
	}
}

func TestNatsPushBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-writes", "-1"}, {"-prefix", "a.>"}, {"-consumer", ""}, {"extra"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
}
