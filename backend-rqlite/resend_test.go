package rqlitekv

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// twoNodes is a simulated two-node cluster over the chosen server's one
// database: two fronts of it, a leader and a follower. The leader can be
// told to fail the next write request (/db/request) in one of two ways, and
// both nodes to drop every write.
type twoNodes struct {
	leader, follower *httptest.Server
	fail             atomic.Value // "": none; "lost": apply, then drop the connection; "503": refuse
	drop             atomic.Bool  // both nodes drop every write without passing it on
	followerWrites   atomic.Int64 // write requests the follower received
}

func startTwoNodes(t *testing.T) *twoNodes {
	u := serverURL(t)
	c := &twoNodes{}
	c.fail.Store("")
	dropped := func(w http.ResponseWriter, r *http.Request) bool {
		if !isWrite(r) || !c.drop.Load() {
			return false
		}
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return true
	}
	c.follower = front(t, u, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if isWrite(r) {
			c.followerWrites.Add(1)
		}
		if !dropped(w, r) {
			next.ServeHTTP(w, r)
		}
	})
	c.leader = front(t, u, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/nodes"):
			json.NewEncoder(w).Encode(map[string]any{
				"a": map[string]any{"api_addr": c.leader.URL, "reachable": true, "leader": true},
				"b": map[string]any{"api_addr": c.follower.URL, "reachable": true, "leader": false},
			})
			return
		case dropped(w, r):
			return
		case isWrite(r):
			switch c.fail.Swap("") {
			case "lost": // applied, but the answer never arrives (the leader crashed)
				applyThenDrop(w, r, next)
				return
			case "503": // refused without being applied (an election)
				http.Error(w, "leader not found", http.StatusServiceUnavailable)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
	return c
}

// openTwoNodes opens an empty store through c's leader.
func openTwoNodes(t *testing.T, c *twoNodes, opts ...Option) (*DB, *kvcore.Store) {
	t.Helper()
	db := openEmptyAt(t, c.leader.URL, append([]Option{WithLeaderWait(0), WithTimeout(time.Minute)}, opts...)...)
	peers, err := db.conn.Peers()
	require.NoError(t, err)
	require.Len(t, peers, 2, "cluster discovery sees both nodes")
	s, err := db.Store(kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return db, s
}

// TestResentWriteAppliedOnce: the leader applies a conditional write and
// its answer is lost; gorqlite sends it to the follower. The write is
// applied once and reported as done (not as the version mismatch its
// condition would now give). A write the leader refused without applying
// it goes to the follower as well, and is applied once.
func TestResentWriteAppliedOnce(t *testing.T) {
	c := startTwoNodes(t)
	db, s := openTwoNodes(t, c)
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "k", 0, "v1"))

	c.fail.Store("lost")
	require.NoError(t, s.Put(ctx, "k", 1, "v2"), "applied once, and reported so")
	require.Equal(t, int64(1), c.followerWrites.Load(), "sent again, to the follower")
	var v string
	ver, ok, err := s.Get(ctx, "k", &v)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "v2", v)
	require.Equal(t, int64(2), ver.Version, "applied once")

	// Unconditional: a second application would make version 4.
	c.fail.Store("lost")
	require.NoError(t, s.Put(ctx, "k", -1, "v3"))
	ver, _, err = s.Get(ctx, "k", &v)
	require.NoError(t, err)
	require.Equal(t, int64(3), ver.Version, "applied once")

	// Refused with 503 (not applied): the follower gets it, applied once.
	c.fail.Store("503")
	require.NoError(t, s.Put(ctx, "k", 3, "v4"))
	require.Equal(t, int64(3), c.followerWrites.Load())
	ver, _, err = s.Get(ctx, "k", &v)
	require.NoError(t, err)
	require.Equal(t, "v4", v)
	require.Equal(t, int64(4), ver.Version)

	// One stream entry per applied change.
	recs, _, _, err := db.Read(ctx, streamdriver.Query{Limit: 100})
	require.NoError(t, err)
	require.Len(t, recs, 4)
}

// TestResentWriteKeepsItsResults: a batch whose answer was lost gets, from
// the re-send, exactly the results its first attempt computed (rows
// written, deleted and touched), alone or sharing a request with other
// callers.
func TestResentWriteKeepsItsResults(t *testing.T) {
	c := startTwoNodes(t)
	db, _ := openTwoNodes(t, c)
	ctx := context.Background()
	exp := t0.Add(time.Hour)
	_, err := db.Apply(ctx, driver.Batch{Now: t0, Ops: []driver.Op{
		{Kind: driver.OpPut, Key: "a", Version: -1, Value: []byte(`1`)},
		{Kind: driver.OpPut, Key: "b", Version: -1, Value: []byte(`1`)},
		{Kind: driver.OpPut, Key: "r1", Version: -1, Value: []byte(`1`)},
		{Kind: driver.OpPut, Key: "r2", Version: -1, Value: []byte(`1`)},
	}})
	require.NoError(t, err)
	batch := driver.Batch{Now: t0, Ops: []driver.Op{
		{Kind: driver.OpPut, Key: "a", Version: -1, Value: []byte(`2`)},
		{Kind: driver.OpPut, Key: "a", Version: 2, Value: []byte(`3`)},
		{Kind: driver.OpTouch, Key: "b", Version: -1, Expires: exp},
		{Kind: driver.OpTouch, Key: "missing", Version: -1, Expires: exp},
		{Kind: driver.OpDelete, Key: "b", Version: -1},
		{Kind: driver.OpDeleteRange, Sel: driver.Selector{From: "r", To: "s", HasTo: true}},
		{Kind: driver.OpPut, Key: "c", Version: 0, Value: []byte(`1`)},
	}}
	want := []driver.Result{r(1), r(1), r(1), r(0), r(1), r(2), r(1)}
	c.fail.Store("lost")
	res, err := db.Apply(ctx, batch)
	require.NoError(t, err)
	require.Equal(t, want, res)
	require.Equal(t, int64(1), c.followerWrites.Load(), "sent again")
	n, err := db.Count(ctx, driver.Selector{}, t0)
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "a and c")

	// Three callers sharing one request whose answer is lost.
	a := call(t, ctx, nil, put("x", 0))
	b := call(t, ctx, nil, put("y", 0), put("x2", -1))
	d := call(t, ctx, nil, driver.Op{Kind: driver.OpDelete, Namespace: "g", Key: "x", Version: 1})
	c.fail.Store("lost")
	sendAsGroup(db, func() int64 { return 0 }, a, b, d)
	for _, tc := range []struct {
		call *groupCall
		want []driver.Result
	}{{a, []driver.Result{r(1)}}, {b, []driver.Result{r(1), r(1)}}, {d, []driver.Result{r(1)}}} {
		got, err := tc.call.result(t)
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
	require.Equal(t, int64(0), versionOf(t, db, "x"), "created then deleted, once")
	require.Equal(t, int64(1), versionOf(t, db, "y"))
}

// TestUnrecordedWriteNotResent: lease, stream and task writes are not
// recorded, so one whose answer was lost is not sent again: the caller
// learns that its outcome is unknown.
func TestUnrecordedWriteNotResent(t *testing.T) {
	c := startTwoNodes(t)
	db, _ := openTwoNodes(t, c)
	ctx := context.Background()
	c.fail.Store("lost")
	_, _, err := db.Acquire(ctx, "l", "me", t0, time.Minute)
	require.ErrorIs(t, err, ErrOutcomeUnknown)
	require.Zero(t, c.followerWrites.Load(), "not sent to the follower")
	le, ok, err := db.Lease(ctx, "l")
	require.NoError(t, err)
	require.True(t, ok, "the lost acquire was applied")
	require.Equal(t, "me", le.Owner)
}

// TestWriteOutcomeUnknown: when no attempt of a write gets an answer and
// the write is not found applied, the caller gets ErrOutcomeUnknown once
// the leader wait is over, and nothing was applied.
func TestWriteOutcomeUnknown(t *testing.T) {
	c := startTwoNodes(t)
	db, s := openTwoNodes(t, c, WithLeaderWait(300*time.Millisecond))
	ctx := context.Background()
	c.drop.Store(true)
	err := s.Put(ctx, "k", 0, "v")
	require.ErrorIs(t, err, ErrOutcomeUnknown)
	require.NotErrorIs(t, err, kvcore.ErrVersionMismatch)
	require.Contains(t, err.Error(), "not found applied")
	c.drop.Store(false)
	_, ok, err := s.Get(ctx, "k", nil)
	require.NoError(t, err)
	require.False(t, ok)
	n, err := db.Count(ctx, driver.Selector{}, t0)
	require.NoError(t, err)
	require.Zero(t, n)
}
