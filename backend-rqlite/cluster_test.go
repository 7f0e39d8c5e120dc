package rqlitekv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
	"github.com/kvsuite/kv/kvcore"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// The cluster tests start three real rqlited nodes on free loopback ports
// (they skip, saying why, without an rqlited binary: the stand-in has no
// cluster) and SIGKILL the node kv talks to.

// startCluster starts a three-node rqlited cluster, stopped when t ends.
func startCluster(t *testing.T) *rqlitetest.Cluster {
	t.Helper()
	return rqlitetest.StartRqlitedCluster(t, 3)
}

// openCluster opens an initialised store on a cluster, waiting up to 30s
// for a leader, with 5s per request.
func openCluster(t *testing.T, connString string) (*DB, *kvcore.Store) {
	t.Helper()
	db, err := Open(connString, WithLeaderWait(30*time.Second), WithTimeout(5*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	s, err := db.Store(kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Init(context.Background()))
	return db, s
}

// clusterWrite is one write of the cluster workload and what it answered.
type clusterWrite struct {
	key     string
	version int64 // the expected version given (-1: a create with no condition, 1: an update)
	value   int
	err     error
	at      time.Time // when it returned
}

// clusterWorkload is writers each creating keys of their own without a
// condition (a create applied twice would reach version 2) and updating
// every third at version 1, one write at a time, recording every outcome.
type clusterWorkload struct {
	mu     sync.Mutex
	writes []clusterWrite
	acked  atomic.Int64
}

// run writes through s until stop is closed.
func (w *clusterWorkload) run(s *kvcore.Store, writer int, stop <-chan struct{}) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		key := fmt.Sprintf("w%d/%04d", writer, n)
		if !w.put(s, key, -1, n) || n%3 != 0 {
			continue // an update is tried only after its create was acknowledged
		}
		w.put(s, key, 1, n+1000)
	}
}

// put writes and records one write; it reports whether it was
// acknowledged.
func (w *clusterWorkload) put(s *kvcore.Store, key string, version int64, value int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := s.Put(ctx, key, version, value)
	w.mu.Lock()
	w.writes = append(w.writes, clusterWrite{key: key, version: version, value: value, err: err, at: time.Now()})
	w.mu.Unlock()
	if err == nil {
		w.acked.Add(1)
	}
	return err == nil
}

// waitAcked waits until n more writes than at its call were acknowledged.
func (w *clusterWorkload) waitAcked(t *testing.T, n int64) {
	t.Helper()
	want := w.acked.Load() + n
	deadline := time.Now().Add(90 * time.Second)
	for w.acked.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d writes acknowledged in 90s", w.acked.Load()-(want-n), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// check reads the data back through db (a live node, strong reads) and
// requires: every acknowledged write present, none applied twice (each
// key's stream entries are one create at version 1, then at most one
// update at version 2), a write that failed with an error other than
// ErrOutcomeUnknown not applied, and every error clear (naming kv's
// operation and wrapping its cause). It returns the writes acknowledged
// after since, and the errors.
func (w *clusterWorkload) check(t *testing.T, db *DB, since time.Time) (after int, errs []error) {
	t.Helper()
	ctx := WithReadConsistency(context.Background(), ConsistencyStrong)
	entries := map[string][]streamdriver.Record{}
	var seq int64
	for {
		recs, _, _, err := db.Read(ctx, streamdriver.Query{After: seq, Limit: 1000})
		require.NoError(t, err)
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			entries[r.Key] = append(entries[r.Key], r)
			seq = r.Seq
		}
	}
	for key, es := range entries {
		require.LessOrEqual(t, len(es), 2, "key %s: %d stream entries", key, len(es))
		require.Equal(t, "create", es[0].Action, "key %s", key)
		require.Equal(t, int64(1), es[0].Version, "key %s: created once", key)
		if len(es) == 2 {
			require.Equal(t, "update", es[1].Action, "key %s", key)
			require.Equal(t, int64(2), es[1].Version, "key %s: updated once", key)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, wr := range w.writes {
		es := entries[wr.key]
		applied := (wr.version == -1 && len(es) >= 1) || (wr.version == 1 && len(es) == 2)
		switch {
		case wr.err == nil:
			require.True(t, applied, "acknowledged write %s at %d lost", wr.key, wr.version)
			if wr.at.After(since) {
				after++
			}
		case errors.Is(wr.err, ErrOutcomeUnknown) || errors.Is(wr.err, context.DeadlineExceeded):
			errs = append(errs, wr.err)
		default:
			require.False(t, applied, "write %s at %d failed (%v) but was applied", wr.key, wr.version, wr.err)
			errs = append(errs, wr.err)
		}
		if wr.err != nil {
			require.True(t, strings.HasPrefix(wr.err.Error(), "kv put "), "unclear error: %v", wr.err)
			require.NotNil(t, errors.Unwrap(wr.err), "error without a cause: %v", wr.err)
		}
	}
	return after, errs
}

// TestClusterNodeLoss writes through kv while the node kv talks to is
// killed (SIGKILL): the leader (with cluster discovery, the connection
// string naming every node), or the follower kv was sent to (without
// discovery, the follower named first). Writes go on through the other
// nodes; every write either succeeds or fails with a clear error, and none
// is lost or applied twice.
func TestClusterNodeLoss(t *testing.T) {
	t.Parallel() // it uses no shared server
	for _, victim := range []string{"leader", "follower"} {
		t.Run(victim, func(t *testing.T) {
			c := startCluster(t)
			leader, err := c.Leader()
			require.NoError(t, err)
			followers, err := c.Followers()
			require.NoError(t, err)
			connString, kill := c.URL(), leader
			if victim == "follower" {
				kill = followers[0]
				connString = fmt.Sprintf("http://%s,%s,%s?disableClusterDiscovery=true", followers[0].HTTPAddr, leader.HTTPAddr, followers[1].HTTPAddr)
			}
			_, s := openCluster(t, connString)

			w := &clusterWorkload{}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() { w.run(s, i, stop) })
			}
			w.waitAcked(t, 40)
			kill.Kill()
			killed := time.Now()
			w.waitAcked(t, 40)
			close(stop)
			wg.Wait()

			var live *rqlitetest.Node
			for _, n := range c.Nodes {
				if n.Running() {
					live = n
				}
			}
			check, err := Open(live.URL(), WithLeaderWait(30*time.Second))
			require.NoError(t, err)
			defer check.Close()
			after, errs := w.check(t, check, killed)
			require.Positive(t, after, "writes acknowledged after the kill")
			t.Logf("killed the %s %s: %d writes, %d acknowledged (%d after the kill), %d errors", victim, kill.ID, len(w.writes), w.acked.Load(), after, len(errs))
			for _, err := range errs[:min(3, len(errs))] {
				t.Logf("error: %v", err)
			}
		})
	}
}

// TestClusterLeaderDiesAfterCommit: the leader commits a conditional write
// and dies before answering (a front of it passes the write on, then kills
// the leader and breaks the connection). The driver sends the write again
// through the other nodes once a new leader is elected; the new leader
// finds it applied, and the caller gets success, not the version mismatch
// the write's condition would now give. The write is applied once.
func TestClusterLeaderDiesAfterCommit(t *testing.T) {
	t.Parallel() // it uses no shared server
	c := startCluster(t)
	leader, err := c.Leader()
	require.NoError(t, err)
	followers, err := c.Followers()
	require.NoError(t, err)
	var armed, died atomic.Bool
	proxy := front(t, leader.URL(), func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if isWrite(r) && armed.CompareAndSwap(true, false) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r) // committed: rqlite answers after the commit
			if rec.Code == http.StatusOK && !strings.Contains(rec.Body.String(), `"error"`) {
				died.Store(true)
			}
			leader.Kill()
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		next.ServeHTTP(w, r)
	})
	connString := fmt.Sprintf("%s,%s,%s?disableClusterDiscovery=true", proxy.URL, followers[0].HTTPAddr, followers[1].HTTPAddr)
	db, s := openCluster(t, connString)
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "k", 0, "v1"))

	armed.Store(true)
	require.NoError(t, s.Put(ctx, "k", 1, "v2"), "committed before the leader died: success")
	require.True(t, died.Load(), "the leader committed the write, then died")
	require.False(t, leader.Running())

	sctx := WithReadConsistency(ctx, ConsistencyStrong)
	var v string
	rec, ok, err := s.Get(sctx, "k", &v)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "v2", v)
	require.Equal(t, int64(2), rec.Version, "applied once")
	recs, _, _, err := db.Read(sctx, streamdriver.Query{Limit: 10})
	require.NoError(t, err)
	require.Len(t, recs, 2, "a create and one update")
	require.NoError(t, s.Put(ctx, "k", 2, "v3"), "the cluster goes on with two nodes")
}
