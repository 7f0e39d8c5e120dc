package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kvsuite/kv/kvstream"
)

// TestKeyFlag: --key names the key of put, patch and get key as the <key>
// argument does; both may be given only if they agree, and a disagreement
// writes nothing.
func TestKeyFlag(t *testing.T) {
	conn, _ := newDB(t)
	runSteps(t, conn, []step{
		{name: "put --key", stdin: `{"hello":"world"}`, args: []string{"put", "--key", "hello"}},
		{name: "get key --key", args: []string{"get", "key", "--key", "hello"}, keys: strp("hello")},
		{name: "get key --key=", args: []string{"get", "key", "--key=hello"}, keys: strp("hello")},
		{name: "patch --key", stdin: `{"n":1}`, args: []string{"patch", "--key", "hello"}},
		{name: "both, the same", stdin: `{"n":2}`, args: []string{"put", "hello", "--key", "hello"}},
		{name: "put both, different", stdin: `{"n":3}`, args: []string{"put", "other", "--key", "hello"}, code: 2,
			stderr: "put: --key and the <key> argument name different keys: give the key once"},
		{name: "patch both, different", stdin: `{"n":3}`, args: []string{"patch", "--key", "hello", "other"}, code: 2,
			stderr: "patch: --key and the <key> argument name different keys"},
		{name: "get both, different", args: []string{"get", "key", "other", "--key", "hello"}, code: 2,
			stderr: "get key: --key and the <key> argument name different keys"},
		{name: "empty --key", stdin: `{}`, args: []string{"put", "--key", ""}, code: 2, stderr: "key is empty"},
		{name: "--key and two arguments", stdin: `{}`, args: []string{"put", "hello", "x", "--key", "hello"}, code: 2, stderr: "got 2 argument(s)"},
		{name: "nothing else was written", args: []string{"list"}, keys: strp("hello")},
	})
	r := records(t, mustKV(t, "", "get", "key", "hello", conn))
	if r[0].Version != 3 || string(r[0].Value) != `{"n":2}` {
		t.Errorf("hello = %+v, want version 3 with {\"n\":2}", r[0])
	}
}

// TestOfTypeAll: --of-type=all keeps every type, as no --of-type does, for
// kv stream get, kv consumer get and kv consumer stream.
func TestOfTypeAll(t *testing.T) {
	conn, _ := newDB(t)
	fillStream(t, conn)
	for _, args := range [][]string{
		{"stream", "get", "0", "10", "--of-type=all"},
		{"stream", "get", "--of-type", "all"},
		{"consumer", "get", "c", "--of-type=all"},
		{"consumer", "stream", "s", "--of-type=all", "--idle-exit=200ms", "--log-level=warn"},
	} {
		if got := streamOut(t, append(args, conn)...); got != "1,2,3,4,5,6" {
			t.Errorf("kv %q: seqs %q, want every record", args, got)
		}
	}
	if got := streamOut(t, "stream", "get", "--of-type=Post", conn); got != "2" {
		t.Errorf("--of-type=Post: %q", got)
	}
}

// TestConsumerGetReadsOnly: kv consumer get reads without committing by
// default (get, handle, commit), and commits only with --commit-mode.
func TestConsumerGetReadsOnly(t *testing.T) {
	conn, _ := newDB(t)
	fillStream(t, conn)
	for i := 0; i < 2; i++ {
		if got := streamOut(t, "consumer", "get", "mailer", "--limit=3", conn); got != "1,2,3" {
			t.Fatalf("get %d: %q, want the same records again", i, got)
		}
		if c := consumerStatus(t, conn, "mailer"); c.Position != 0 || c.Lag != 6 || c.Held {
			t.Fatalf("status after get %d = %+v: the position moved", i, c)
		}
	}
	mustKV(t, "", "consumer", "commit", "mailer", "3", conn)
	if got := streamOut(t, "consumer", "get", "mailer", "--limit=2", conn); got != "4,5" {
		t.Errorf("get after commit 3: %q", got)
	}
	if got := streamOut(t, "consumer", "get", "mailer", "--limit=2", "--commit-mode=batch", conn); got != "4,5" {
		t.Errorf("get --commit-mode=batch: %q", got)
	}
	if c := consumerStatus(t, conn, "mailer"); c.Position != 5 {
		t.Errorf("position after --commit-mode=batch = %d, want 5", c.Position)
	}
	if got := streamOut(t, "consumer", "get", "mailer", "--commit-mode=all", conn); got != "6" {
		t.Errorf("get --commit-mode=all: %q", got)
	}
	if c := consumerStatus(t, conn, "mailer"); c.Position != 6 {
		t.Errorf("position after --commit-mode=all = %d, want 6", c.Position)
	}
}

// TestConsumerStreamNames: kv consumer stream <name> [<owner>] follows the
// stream as consumer <name> with <owner> in its lease (the form
// "consumer stream <stream-name> <consumer-name>"), logs what it follows,
// and warns when --stream names a namespace that holds nothing.
func TestConsumerStreamNames(t *testing.T) {
	conn, _ := newDB(t)
	fillStream(t, conn)
	r := kv(t, "", "consumer", "stream", "events", "mailer", "--idle-exit=200ms", "--log-format=json", conn)
	if r.code != 0 || seqs(streamRecords(t, r.stdout)) != "1,2,3,4,5,6" {
		t.Fatalf("consumer stream events mailer: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	logs := logLines(t, r.stderr)
	if len(logs) != 1 || logs[0]["msg"] != "consumer follows the stream" || logs[0]["consumer"] != "events" ||
		logs[0]["owner"] != "mailer" || logs[0]["namespaces"] != "every namespace" || logs[0]["types"] != "every type" ||
		logs[0]["position"] != "new: from the start of the stream" || logs[0]["level"] != "INFO" {
		t.Errorf("log %q", r.stderr)
	}
	c := consumerStatus(t, conn, "events")
	if c.Position != 6 || c.Lease.Name != kvstream.LeasePrefix+"events" || c.Lease.Token < 1 {
		t.Errorf("status of events = %+v", c)
	}
	runSteps(t, conn, []step{
		{name: "no consumer mailer", args: []string{"consumer", "status", "mailer"}, code: 1, stderr: `no consumer named "mailer"`},
	})

	// A namespace filter says what it filters, and that the namespace is
	// empty.
	mustKV(t, `{}`, "put", "e", "--namespace=other", conn)
	r = kv(t, "", "consumer", "stream", "events", "--stream=nowhere", "--of-type=User", "--idle-exit=200ms", "--log-format=json", conn)
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("consumer stream --stream=nowhere: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	logs = logLines(t, r.stderr)
	if len(logs) != 2 || logs[0]["namespaces"] != `namespace "nowhere"` || logs[0]["types"] != `type "User"` ||
		logs[0]["position"] != "after seq 6" || logs[1]["level"] != "WARN" ||
		!strings.Contains(logs[1]["msg"].(string), `namespace "nowhere" holds no key: only changes made in it are printed`) {
		t.Errorf("log %q", r.stderr)
	}
	if c := consumerStatus(t, conn, "events"); c.Position != 7 {
		t.Errorf("events at %d: want 7, past the entry its filters left out", c.Position)
	}
	// A namespace that holds keys is not warned about.
	mustKV(t, `{}`, "put", "f", "--namespace=other", conn)
	r = kv(t, "", "consumer", "stream", "events", "--stream=other", "--idle-exit=200ms", "--log-level=warn", conn)
	if r.code != 0 || r.stderr != "" || seqs(streamRecords(t, r.stdout)) != "8" {
		t.Errorf("consumer stream --stream=other: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// logLines parses kv's JSON log.
func logLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// TestNegativeLimitSaysWhatToUse: a negative <limit> (-1 meant "no limit"
// to a-h/kv's CLI) is refused with what to give instead.
func TestNegativeLimitSaysWhatToUse(t *testing.T) {
	conn, _ := newDB(t)
	fillStream(t, conn)
	for _, args := range [][]string{
		{"stream", "get", "0", "-1"},
		{"list", "0", "-1"},
		{"get", "prefix", "a", "0", "-1"},
		{"get", "range", "a", "z", "0", "-1"},
	} {
		r := kv(t, "", append(args, conn)...)
		if r.code != 2 || !strings.Contains(r.stderr, "limit -1 is negative: for no limit, leave <limit> out or give 0") || r.stdout != "" {
			t.Errorf("kv %q: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	r := kv(t, "", "stream", "get", "--", "-1", conn)
	if r.code != 2 || !strings.Contains(r.stderr, "seq -1 is negative") || strings.Contains(r.stderr, "no limit") {
		t.Errorf("negative offset: exit %d, stderr %q", r.code, r.stderr)
	}
}
