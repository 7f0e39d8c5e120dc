package rqlitekv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"

	"github.com/kvsuite/kv/kvcore"
)

// TestClusterLeaderFailover starts a 3-node rqlited cluster on loopback,
// writes through kvcore while the leader is killed, and checks that every
// acknowledged write survives on the new leader. It needs rqlited on PATH.
func TestClusterLeaderFailover(t *testing.T) {
	if rqlitedBin == "" {
		t.Skip("needs rqlited on PATH (rqlitetest has no cluster)")
	}
	if testing.Short() {
		t.Skip("starts three rqlited processes")
	}
	dir := t.TempDir()
	n1, err := rqlitetest.StartNode(rqlitedBin, dir, "n1", "")
	require.NoError(t, err)
	nodes := []*rqlitetest.Node{n1}
	defer func() {
		for _, n := range nodes {
			n.Stop()
		}
	}()
	for _, id := range []string{"n2", "n3"} {
		n, err := rqlitetest.StartNode(rqlitedBin, dir, id, n1.RaftAddr)
		require.NoError(t, err)
		nodes = append(nodes, n)
	}

	db, err := Open(n1.URL()+"?level=linearizable", WithLeaderWait(30*time.Second), WithTimeout(5*time.Second))
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	peers, err := db.conn.Peers()
	require.NoError(t, err)
	require.Len(t, peers, 3, "cluster discovery sees every node")
	s, err := db.Store(kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Init(ctx))

	leader, err := db.Leader(ctx)
	require.NoError(t, err)
	var victim *rqlitetest.Node
	for _, n := range nodes {
		if n.HTTPAddr == leader {
			victim = n
		}
	}
	require.NotNil(t, victim, "leader %s is one of ours", leader)

	acked := map[string]int{}
	var failed int
	var ackedAfterKill int
	killed := false
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; len(acked) < 300 && time.Now().Before(deadline); i++ {
		if i == 100 {
			victim.Kill()
			killed = true
		}
		key := fmt.Sprintf("k/%04d", i)
		if err := s.Put(ctx, key, 0, i); err != nil {
			if failed < 3 {
				t.Logf("write %s failed: %v", key, err)
			}
			failed++
			continue
		}
		acked[key] = i
		if killed {
			ackedAfterKill++
		}
	}
	t.Logf("acknowledged %d writes (%d after killing leader %s), %d failed", len(acked), ackedAfterKill, victim.ID, failed)
	require.True(t, killed)
	require.Greater(t, ackedAfterKill, 0, "writes go on after the failover")

	newLeader, err := db.Leader(ctx)
	require.NoError(t, err)
	require.NotEqual(t, victim.HTTPAddr, newLeader)
	for key, want := range acked {
		var got int
		_, ok, err := s.Get(ctx, key, &got)
		require.NoError(t, err)
		require.True(t, ok, "acknowledged write %s lost", key)
		require.Equal(t, want, got)
	}
	// The stream has one create per key that exists, in key order of writes.
	qr, err := db.conn.QueryOneContext(ctx, "SELECT key, action, CAST(version AS TEXT) FROM stream ORDER BY seq")
	require.NoError(t, err)
	seen := map[string]bool{}
	for qr.Next() {
		row, err := qr.Slice()
		require.NoError(t, err)
		key := row[0].(string)
		require.Equal(t, "create", row[1])
		require.False(t, seen[key], "one stream entry per create of %s", key)
		seen[key] = true
	}
	for key := range acked {
		require.True(t, seen[key], "stream entry for %s", key)
	}
}
