package webtest

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
	"github.com/kvsuite/kv/kvtask"
)

// Hostile text: each breaks a page that does not escape it, as a key, a
// namespace, a type, a task name, a payload, an error, an owner, a node.
const (
	hostileKey     = `<script>alert("key")</script>`
	hostileNS      = `"><img src=x onerror=alert('ns')>`
	hostileValue   = `</pre><b id="pwned">value</b>`
	hostileType    = `<i>Type</i>`
	hostileTask    = `<script>alert('task')</script>`
	hostileError   = `<img src=x onerror=alert('error')>`
	hostileOwner   = `<svg onload=alert('owner')>`
	hostileNode    = `"'><script>alert('node')</script>`
	hostileLink    = `javascript:alert('link')`
	hostileTrailer = "\u202e<u>reversed</u>"
)

// hostileMarkup are the raw tags the hostile text holds: none may appear
// in a page.
var hostileMarkup = []string{"<script>alert", "<img src=x", `<b id="pwned">`, "<i>Type", "<svg onload", "<u>reversed", `href="javascript:`}

// checkEscaped fails the test if body holds any hostile markup.
func checkEscaped(t *testing.T, what, body string) {
	t.Helper()
	for _, m := range hostileMarkup {
		if strings.Contains(body, m) {
			t.Errorf("%s holds hostile markup %q unescaped", what, m)
		}
	}
}

// seeded is what seed wrote.
type seeded struct {
	pending, failed, running kvtask.Task
	consumer                 string
}

// seed writes n keys user/0000... to the default namespace, hostile keys,
// values, a hostile namespace and type, tasks (pending, failed with a
// hostile error, running), a schedule, a consumer that lags, a lease and a
// graph.
func seed(t testing.TB, e *env, n int) seeded {
	t.Helper()
	ctx := context.Background()
	var ms []kvcore.Mutation
	for i := range n {
		ms = append(ms, kvcore.Put(fmt.Sprintf("user/%04d", i), -1, map[string]any{"n": i, "name": fmt.Sprintf("user %d", i)}))
		if len(ms) == 500 || i == n-1 {
			if _, err := e.store.MutateAll(ctx, ms...); err != nil {
				t.Fatal(err)
			}
			ms = ms[:0]
		}
	}
	// Raw JSON, so that the markup is stored as it is (encoding/json
	// would write < as \u003c).
	must(t, e.store.Put(ctx, hostileKey, -1, json.RawMessage(`{"html":"`+strings.ReplaceAll(hostileValue, `"`, `\"`)+`"}`), kvcore.WithType(hostileType)))
	must(t, e.store.Put(ctx, hostileLink, -1, json.RawMessage(`"`+hostileTrailer+`"`)))
	other, err := e.store.Namespace(hostileNS)
	must(t, err)
	must(t, other.Put(ctx, hostileKey+"/in-ns", -1, 1))

	var s seeded
	s.consumer = "mailer " + hostileOwner
	must(t, e.stream.SetPosition(ctx, s.consumer, 1))
	_, ok, err := e.locker.Acquire(ctx, "report "+hostileNode, hostileOwner, time.Hour)
	must(t, err)
	if !ok {
		t.Fatal("lease not acquired")
	}

	add := func(name string, payload string) kvtask.Task {
		task := kvtask.NewTask(name, json.RawMessage(payload))
		task, _, err := e.tasks.Enqueue(ctx, task)
		must(t, err)
		return task
	}
	s.failed = add(hostileTask, `{"html":"`+strings.ReplaceAll(hostileValue, `"`, `\"`)+`"}`)
	claimed, err := e.tasks.Claim(ctx, "runner-1", time.Minute, 1)
	must(t, err)
	must(t, e.tasks.Finish(ctx, claimed[0], "runner-1", kvtask.Outcome{Status: kvtask.StatusFailed, LastError: hostileError}))
	s.running = add("report", `{}`)
	_, err = e.tasks.Claim(ctx, hostileOwner, time.Hour, 1, "report")
	must(t, err)
	s.pending = add("email", `{"to":"ann@example.com"}`)
	must(t, e.tasks.Schedule(ctx, "nightly "+hostileNode, "0 2 * * *", kvtask.NewTask(hostileTask, nil)))

	alice, bob, evil := kvgraph.NewNodeRef("alice", "User"), kvgraph.NewNodeRef("bob", "User"), kvgraph.NewNodeRef(hostileNode, hostileType)
	must(t, e.graph.AddEdge(ctx, kvgraph.NewEdge(alice, bob, "follows", json.RawMessage(`{"since":2020}`))))
	must(t, e.graph.AddEdge(ctx, kvgraph.NewEdge(bob, evil, "follows", json.RawMessage(`{"html":"`+strings.ReplaceAll(hostileValue, `"`, `\"`)+`"}`))))
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// escaped is s as html/template writes it in text.
func escaped(s string) string { return template.HTMLEscapeString(s) }
