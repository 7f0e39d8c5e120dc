package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/kvnats"
	"github.com/kvsuite/kv/kvnats/kvnatstest"
)

// natsURLWithSecret returns the test server's URL with a user and
// password in it (a server without authentication ignores them).
func natsURLWithSecret(t *testing.T, password string) string {
	t.Helper()
	u, err := url.Parse(kvnatstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.User == nil {
		u.User = url.UserPassword("kvuser", password)
	}
	return u.String()
}

// TestNatsPush: kv nats push creates its JetStream stream, publishes what
// is there and what is written while it runs, each entry once, filtered by
// --stream and --of-type; Ctrl+C stops it with status 0 and every entry
// committed. No password of --url shows in its output.
func TestNatsPush(t *testing.T) {
	nc := kvnatstest.Connect(t)
	const password = "s3cret-pw"
	natsURL := natsURLWithSecret(t, password)
	conn, _ := newDB(t)
	name, prefix := kvnatstest.Unique("KVTEST_"), kvnatstest.Unique("kvtest")
	t.Cleanup(func() { kvnatstest.DeleteStream(t, name) })
	mustKV(t, `{"n":1}`, "put", "a/1", "--namespace=orders", "--record-type=Order", conn)
	mustKV(t, `{"n":2}`, "put", "b", conn)
	mustKV(t, `{"n":3}`, "put", "a/2", "--namespace=orders", "--record-type=Note", conn)

	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	stdout, stderr, wait := background(ctx, "nats", "push", "--url", natsURL, "--subject-prefix", prefix,
		"--consumer", "np", "--create-stream", name, "--stream", "orders", "--of-type", "Order",
		"--log-level=debug", conn)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	subjects := func() string {
		s, err := js.Stream(context.Background(), name)
		if err != nil || s.CachedInfo().State.Msgs == 0 {
			return ""
		}
		var out []string
		for _, m := range kvnatstest.Messages(t, nc, name) {
			out = append(out, m.Subject)
		}
		return strings.Join(out, " ")
	}
	eventually(t, "the entry written before", func() bool { return subjects() == prefix+".orders.a.1" })
	mustKV(t, `{"n":4}`, "put", "a/3", "--namespace=orders", "--record-type=Order", conn)
	eventually(t, "the entry written while it runs", func() bool {
		return subjects() == prefix+".orders.a.1 "+prefix+".orders.a.3"
	})
	interrupt()
	r := wait()
	if r.code != 0 {
		t.Fatalf("nats push: exit %d, stderr %s", r.code, r.stderr)
	}
	for _, out := range []string{stdout.String(), stderr.String()} {
		if strings.Contains(out, password) {
			t.Fatalf("the password shows in the output:\n%s", out)
		}
	}
	for _, want := range []string{"kvnats publisher started", "created the JetStream stream", "kvuser:xxxxx@"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the log does not say %q:\n%s", want, r.stderr)
		}
	}
	// Everything up to the last entry that passed the filters is committed.
	if c := consumerStatus(t, conn, "np"); c.Held || c.Position != 4 {
		t.Errorf("consumer after the interrupt = %+v", c)
	}
}

// TestNatsPushRefuses: bad flags are usage errors; a JetStream stream with a
// short duplicate window, or a URL that cannot be used, stop it with an
// error that never shows the URL's password.
func TestNatsPushRefuses(t *testing.T) {
	nc := kvnatstest.Connect(t)
	conn, _ := newDB(t)
	const password = "pw-not-to-show"
	runSteps(t, conn, []step{
		{name: "bad prefix", args: []string{"nats", "push", "--subject-prefix", "kv.>"}, code: 2, stderr: `--subject-prefix: invalid argument: subject prefix "kv.>"`},
		{name: "no window", args: []string{"nats", "push", "--duplicate-window", "0s"}, code: 2, stderr: "--duplicate-window 0s"},
		{name: "bad consumer", args: []string{"nats", "push", "--consumer", ""}, code: 2, stderr: "consumer name"},
		{name: "bad batch", args: []string{"nats", "push", "--batch-size", "0"}, code: 2, stderr: "--batch-size"},
		{name: "bad source", args: []string{"nats", "push", "--source", "a b", "--url", "nats://x:" + password + "@127.0.0.1:1"}, code: 2, stderr: `--source: invalid argument: source "a b"`},
		{name: "arguments", args: []string{"nats", "push", "extra"}, code: 2, stderr: "nats push"},
	})
	_, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{Duplicates: 10 * time.Second})
	r := kv(t, "", "nats", "push", "--url", natsURLWithSecret(t, password), "--subject-prefix", prefix, conn)
	if r.code != 1 || !strings.Contains(r.stderr, "duplicate window too short") || strings.Contains(r.stderr, password) {
		t.Errorf("short window: exit %d, stderr %s", r.code, r.stderr)
	}
	r = kv(t, "", "nats", "push", "--url", "nats://tok-"+password+"@[::1", conn)
	if r.code != 1 || strings.Contains(r.stderr, password) {
		t.Errorf("bad URL: exit %d, stderr %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "xxxxx") {
		t.Errorf("bad URL: the error does not name the URL: %s", r.stderr)
	}
}

// TestNatsPushHelp: the help names the guarantees and the subject mapping.
func TestNatsPushHelp(t *testing.T) {
	clearEnv(t)
	out := mustKV(t, "", "nats", "push", "--help")
	for _, want := range []string{"exactly once", "Nats-Msg-Id", "kv._.user.42", "--create-stream", "--duplicate-window", "%5F",
		fmt.Sprintf("(default %q)", kvnats.DefaultSubjectPrefix)} {
		if !strings.Contains(out, want) {
			t.Errorf("kv nats push --help does not say %q:\n%s", want, out)
		}
	}
}
