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

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
	"github.com/kvsuite/kv/kvcore"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// twoNodes is a simulated two-node cluster over one rqlitetest database: a
// leader and a follower that forwards everything to it. The leader can be
// told to fail the next write request (/db/request) in one of two ways.
type twoNodes struct {
	leader, follower *httptest.Server
	fail             atomic.Value // "": none; "lost": apply, then drop the connection; "503": refuse
	followerWrites   atomic.Int64 // write requests the follower received
}

func startTwoNodes(t *testing.T) *twoNodes {
	srv := rqlitetest.Start(t)
	c := &twoNodes{}
	c.fail.Store("")
	c.follower = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/db/request") {
			c.followerWrites.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(c.follower.Close)
	c.leader = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/nodes"):
			json.NewEncoder(w).Encode(map[string]any{
				"a": map[string]any{"api_addr": c.leader.URL, "reachable": true, "leader": true},
				"b": map[string]any{"api_addr": c.follower.URL, "reachable": true, "leader": false},
			})
			return
		case strings.HasPrefix(r.URL.Path, "/db/request"):
			switch c.fail.Swap("") {
			case "lost": // applied, but the answer never arrives (the leader crashed)
				srv.ServeHTTP(httptest.NewRecorder(), r)
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			case "503": // refused without being applied (an election)
				http.Error(w, "leader not found", http.StatusServiceUnavailable)
				return
			}
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(c.leader.Close)
	return c
}

// TestWriteNotResentAfterUnknownOutcome: gorqlite would send a write whose
// answer was lost to the next node, where a conditional write then fails
// its own condition (reported as a version mismatch although it was
// applied). The driver stops that re-send and says the outcome is unknown;
// a write the leader refused without applying it still goes to the
// follower.
func TestWriteNotResentAfterUnknownOutcome(t *testing.T) {
	c := startTwoNodes(t)
	db, err := Open(c.leader.URL, WithLeaderWait(0), WithTimeout(time.Minute))
	require.NoError(t, err)
	defer db.Close()
	peers, err := db.conn.Peers()
	require.NoError(t, err)
	require.Len(t, peers, 2, "cluster discovery sees both nodes")
	ctx := context.Background()
	require.NoError(t, db.Init(ctx))
	s, err := db.Store(kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	defer s.Close()
	err = s.Put(ctx, "k", 0, "v1")
	require.NoError(t, err)

	// The answer is lost: an error that says so, not a mismatch, and the
	// follower never saw the write.
	c.fail.Store("lost")
	err = s.Put(ctx, "k", 1, "v2")
	require.ErrorIs(t, err, ErrOutcomeUnknown)
	require.NotErrorIs(t, err, kvcore.ErrVersionMismatch)
	require.Zero(t, c.followerWrites.Load(), "not re-sent to the follower")
	var v string
	ver, ok, err := s.Get(ctx, "k", &v)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "v2", v, "the lost write was applied once")
	require.Equal(t, int64(2), ver.Version)

	// Refused with 503 (not applied): the follower gets it, applied once.
	c.fail.Store("503")
	err = s.Put(ctx, "k", 2, "v3")
	require.NoError(t, err)
	require.Equal(t, int64(1), c.followerWrites.Load())
	ver, _, err = s.Get(ctx, "k", &v)
	require.NoError(t, err)
	require.Equal(t, "v3", v)
	require.Equal(t, int64(3), ver.Version)

	// One stream entry per applied change.
	recs, _, _, err := db.Read(ctx, streamdriver.Query{Limit: 100})
	require.NoError(t, err)
	require.Len(t, recs, 3)
}
