package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// outLease is a lease (with held, from lock status) as kv prints it.
type outLease struct {
	Name     string     `json:"name"`
	Owner    string     `json:"owner"`
	Token    int64      `json:"token"`
	Expires  *time.Time `json:"expires"`
	Acquired *time.Time `json:"acquired"`
	Held     *bool      `json:"held"`
}

// lease parses kv's output of one lease strictly: one line, every field.
func lease(t *testing.T, out string, status bool) outLease {
	t.Helper()
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("output %q: want one JSON line", out)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &fields); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	want := []string{"name", "owner", "token", "expires", "acquired"}
	if status {
		want = append(want, "held")
	}
	if len(fields) != len(want) {
		t.Fatalf("output %q: want exactly the fields %q", out, want)
	}
	for _, f := range want {
		if _, ok := fields[f]; !ok {
			t.Fatalf("output %q has no %q field", out, f)
		}
	}
	var l outLease
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func lockStatus(t *testing.T, conn, name string) outLease {
	t.Helper()
	return lease(t, mustKV(t, "", "lock", "status", name, conn), true)
}

func TestLock(t *testing.T) {
	conn, _ := newDB(t)
	mustKV(t, "", "init", conn)
	before := time.Now()

	// Never acquired: not held, token 0.
	if l := lockStatus(t, conn, "job"); l.Name != "job" || l.Owner != "" || l.Token != 0 || l.Expires != nil || l.Acquired != nil || *l.Held {
		t.Errorf("status of a new lock = %+v", l)
	}

	// Acquire: default duration 10m, token 1, acquired now.
	l := lease(t, mustKV(t, "", "lock", "acquire", "job", "alice", conn), false)
	if l.Name != "job" || l.Owner != "alice" || l.Token != 1 || l.Expires == nil || l.Acquired == nil {
		t.Fatalf("acquire = %+v", l)
	}
	if d := l.Expires.Sub(before); d < 10*time.Minute || d > 11*time.Minute || l.Expires.Location() != time.UTC {
		t.Errorf("expires %v is %v after the acquire, want about 10m, UTC", l.Expires, d)
	}
	if l.Acquired.Before(before) || l.Acquired.After(time.Now()) || l.Acquired.Location() != time.UTC || !l.Expires.Equal(l.Acquired.Add(10*time.Minute)) {
		t.Errorf("acquired %v, want the time of the acquire (%v to now), UTC, 10m before expires %v", l.Acquired, before, l.Expires)
	}
	// The same owner extends it, keeping the token and the time it took it.
	l2 := lease(t, mustKV(t, "", "lock", "acquire", "job", "alice", "--duration=1h", conn), false)
	if l2.Token != 1 || l2.Owner != "alice" || l2.Expires.Sub(before) < time.Hour || l2.Acquired == nil || !l2.Acquired.Equal(*l.Acquired) {
		t.Errorf("extend = %+v, want acquired %v", l2, l.Acquired)
	}

	// Another owner: exit 1, the holder's lease on stdout, why on stderr.
	r := kv(t, "", "lock", "acquire", "job", "bob", conn)
	since := " (since " + l.Acquired.Format(time.RFC3339) + ")"
	if r.code != 1 || !strings.HasPrefix(r.stderr, "kv: ") || !strings.Contains(r.stderr, `lock "job" is held by "alice" until `) || !strings.Contains(r.stderr, since) {
		t.Errorf("acquire held lock: exit %d stderr %q, want the holder and %q", r.code, r.stderr, since)
	}
	if h := lease(t, r.stdout, false); h.Owner != "alice" || h.Token != 1 || !h.Expires.Equal(*l2.Expires) || !h.Acquired.Equal(*l.Acquired) {
		t.Errorf("acquire held lock printed %+v, want alice's lease", h)
	}
	if s := lockStatus(t, conn, "job"); !*s.Held || s.Owner != "alice" || s.Token != 1 || s.Acquired == nil || !s.Acquired.Equal(*l.Acquired) {
		t.Errorf("status = %+v, want held by alice since %v", s, l.Acquired)
	}

	// Release: only by its owner.
	runSteps(t, conn, []step{
		{name: "release by another", args: []string{"lock", "release", "job", "bob"}, code: 1, stderr: `lock "job" is not held by "bob": "alice" holds it until `},
		{name: "release", args: []string{"lock", "release", "job", "alice"}, wantOut: true, stdout: ""},
		{name: "release again", args: []string{"lock", "release", "job", "alice"}, code: 1, stderr: `lock "job" is not held by "alice": it is not held`},
	})
	if s := lockStatus(t, conn, "job"); *s.Held || s.Owner != "" || s.Expires != nil || s.Acquired != nil || s.Token != 1 {
		t.Errorf("status after release = %+v", s)
	}
	// The next owner gets a new token.
	if l := lease(t, mustKV(t, "", "lock", "acquire", "job", "bob", "--duration", "5ms", conn), false); l.Token != 2 || l.Owner != "bob" {
		t.Errorf("acquire after release = %+v", l)
	}
	time.Sleep(20 * time.Millisecond)
	s := lockStatus(t, conn, "job")
	if *s.Held || s.Owner != "bob" || s.Token != 2 || s.Acquired == nil || s.Acquired.Before(*l.Acquired) {
		t.Errorf("status after expiry = %+v", s)
	}
	runSteps(t, conn, []step{
		{name: "release expired", args: []string{"lock", "release", "job", "bob"}, code: 1, stderr: "its lease expired at "},
	})
	if l := lease(t, mustKV(t, "", "lock", "acquire", "job", "carol", conn), false); l.Token != 3 || l.Acquired == nil || !l.Acquired.After(*s.Acquired) {
		t.Errorf("acquire after expiry = %+v, want acquired after bob's %v", l, s.Acquired)
	}
	// Locks are per database, not per namespace: the same lease everywhere.
	if s := lease(t, mustKV(t, "", "lock", "status", "job", "--namespace=other", conn), true); s.Owner != "carol" {
		t.Errorf("status in another namespace = %+v", s)
	}
}
