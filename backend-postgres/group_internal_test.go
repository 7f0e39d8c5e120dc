package postgreskv

import (
	"testing"
	"time"
)

// TestMayStart: when a new group starts beside the groups in flight. With
// one group in flight, a group as large as it starts even while it still
// executes (the two take turns); beside more, only if they all wait for
// their commits, if a full group waits, or if the newest has stalled.
func TestMayStart(t *testing.T) {
	now, old := time.Now(), time.Now().Add(-time.Second)
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
