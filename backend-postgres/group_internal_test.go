package postgreskv

import (
	"slices"
	"testing"
	"time"
)

// TestMayStart: when a new group starts beside the groups in flight. With
// one group in flight, a group as large as it starts even while it still
// executes (the two take turns); beside more, only if they all wait for
// their commits, if a full group waits, or if the newest has stalled.
func TestMayStart(t *testing.T) {
	// now is a newest group that has not stalled however long the test
	// takes to get to its case (a time ahead never ages past groupStall);
	// old is one that has.
	now, old := time.Now().Add(time.Hour), time.Now().Add(-time.Second)
	for _, c := range []struct {
		name                       string
		active, executing, members int
		newest                     time.Time
		waiting                    int
		want                       bool
	}{
		{"none in flight", 0, 0, 0, now, 1, true},
		{"at the limit", 4, 0, 4, old, 40, false},
		{"one executing, as many wait", 1, 1, 8, now, 8, true},
		{"one executing, fewer wait", 1, 1, 8, now, 7, false},
		{"one committing, as many wait", 1, 0, 8, now, 8, true},
		{"two, one executing, as many wait", 2, 1, 16, now, 16, false},
		{"two committing, as many wait", 2, 0, 16, now, 16, true},
		{"two committing, fewer wait", 2, 0, 16, now, 15, false},
		{"two executing, a full group waits", 2, 2, 16, now, maxGroupMembers, true},
		{"two executing, the newest stalled", 2, 2, 16, old, 1, true},
		{"one executing, stalled", 1, 1, 8, old, 1, true},
	} {
		g := &committers{active: c.active, executing: c.executing, members: c.members, newest: c.newest}
		if got := g.mayStart(committersCap, c.waiting); got != c.want {
			t.Errorf("%s: mayStart = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestTakeFree: a group started beside an executing group takes only the
// queued batches that write none of its keys (a range delete may write any
// key); the others keep their place in the queue and do not count as
// waiting, and every batch is free again once no group executes.
func TestTakeFree(t *testing.T) {
	batch := func(lockKey string, keys ...string) *applyReq {
		return &applyReq{lockKey: lockKey, keys: keys}
	}
	a, b, ab, ca := batch("a"), batch("b"), batch("x", "a"), batch("c", "a")
	rng := &applyReq{lockKey: "r", anyKey: true}
	g := &committers{}
	first := g.start(batch("a"))
	if len(first) != 1 {
		t.Fatalf("first group: %d batches, want 1", len(first))
	}
	g.queue = []*applyReq{a, ab, rng, ca}
	if g.mayStartFree(committersCap, 0) {
		t.Fatal("a group may start beside the first, though no queued batch is free")
	}
	g.queue = []*applyReq{a, b, ab, rng, ca}
	if !g.mayStartFree(committersCap, 0) {
		t.Fatal("no group may start beside the first, though b is free")
	}
	second := g.start(nil)
	if len(second) != 1 || second[0] != b {
		t.Fatalf("second group = %v, want only b", second)
	}
	if want := []*applyReq{a, ab, rng, ca}; !slices.Equal(g.queue, want) {
		t.Fatalf("queue = %v, want %v", g.queue, want)
	}
	// The first group sends its COMMIT: only the second's key is busy.
	g.executing--
	g.mark(first, -1)
	if g.free(b) || !g.free(a) || !g.free(ab) || g.free(rng) {
		t.Fatal("with b busy: want a and ab free, b and the range delete not")
	}
	g.executing--
	g.mark(second, -1)
	if len(g.busy) != 0 || g.busyAny != 0 {
		t.Fatalf("nothing executes, but busy = %v, busyAny = %d", g.busy, g.busyAny)
	}
	if !g.mayStartFree(committersCap, 0) {
		t.Fatal("no group may start while the two in flight only wait for their commits")
	}
	if third := g.start(nil); len(third) != 4 {
		t.Fatalf("third group: %d batches, want 4", len(third))
	}
}
