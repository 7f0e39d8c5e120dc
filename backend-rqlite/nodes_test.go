package rqlitekv

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// levelFront is a front of the chosen server that records the level of
// every read (/db/query) it passes on.
type levelFront struct {
	*httptest.Server
	mu     sync.Mutex
	levels []string
}

func startLevelFront(t *testing.T) *levelFront {
	f := &levelFront{}
	f.Server = front(t, serverURL(t), func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.URL.Path == "/db/query" {
			f.mu.Lock()
			f.levels = append(f.levels, r.URL.Query().Get("level"))
			f.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
	return f
}

// take returns the levels recorded since the last take.
func (f *levelFront) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.levels
	f.levels = nil
	return out
}

// TestReadConsistencyPerCall: a level put in the context with
// WithReadConsistency replaces the connection's for the reads of that call
// only (through kvcore's front too); writes are not affected; a level
// that is not one of rqlite's is refused before anything is sent.
func TestReadConsistencyPerCall(t *testing.T) {
	f := startLevelFront(t)
	db := openEmptyAt(t, f.URL+"?disableClusterDiscovery=true&level=weak")
	s, err := db.Store(kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "k", 0, 1))
	f.take()

	_, _, err = s.Get(ctx, "k", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"weak"}, f.take(), "the connection's level")

	for _, lvl := range []Consistency{ConsistencyNone, ConsistencyWeak, ConsistencyLinearizable, ConsistencyStrong} {
		cctx := WithReadConsistency(ctx, lvl)
		got, ok := ReadConsistency(cctx)
		require.True(t, ok)
		require.Equal(t, lvl, got)
		var v int
		_, found, err := s.Get(cctx, "k", &v)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, 1, v)
		n, err := s.Count(cctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		_, _, _, err = db.Read(cctx, streamdriver.Query{Limit: 10})
		require.NoError(t, err)
		require.Equal(t, []string{string(lvl), string(lvl), string(lvl)}, f.take(), "every read of the call")
		// A patch reads at the call's level, then writes.
		require.NoError(t, s.Patch(cctx, "k", -1, 1))
		require.Equal(t, []string{string(lvl)}, f.take())
	}
	_, ok := ReadConsistency(ctx)
	require.False(t, ok)
	_, _, err = s.Get(ctx, "k", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"weak"}, f.take(), "other calls keep the connection's level")

	_, _, err = s.Get(WithReadConsistency(ctx, "eventual"), "k", nil)
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	require.Contains(t, err.Error(), `"eventual"`)
	require.Empty(t, f.take(), "nothing sent")
}

// deadAddr returns a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	return addr
}

// TestSeveralNodes: a connection string naming several nodes opens on the
// first that answers; without cluster discovery, requests go to the nodes
// named in turn, the next one after a node failed, and every write is
// applied once.
func TestSeveralNodes(t *testing.T) {
	u := serverURL(t)
	var served [2]atomic.Int64
	var down [2]atomic.Bool
	fronts := make([]*httptest.Server, 2)
	for i := range fronts {
		fronts[i] = front(t, u, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if down[i].Load() {
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close() // a node that went away
				}
				return
			}
			served[i].Add(1)
			next.ServeHTTP(w, r)
		})
	}
	host := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	dead := deadAddr(t)

	// With discovery: the first node is down, the second tells the members.
	db, err := Open("http://" + dead + "," + host(fronts[0]))
	require.NoError(t, err)
	db.Close()
	_, err = Open("http://" + dead + "," + deadAddr(t))
	require.ErrorContains(t, err, "no node answered")

	// Without discovery: the first node is down, then the second goes.
	db = openEmptyAt(t, fmt.Sprintf("http://%s,%s,%s?disableClusterDiscovery=true", dead, host(fronts[0]), host(fronts[1])),
		WithLeaderWait(10*time.Second))
	s, err := db.Store(kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		require.NoError(t, s.Put(ctx, fmt.Sprintf("k%d", i), -1, i))
	}
	require.Positive(t, served[0].Load())
	require.Zero(t, served[1].Load())
	down[0].Store(true)
	for i := 10; i < 20; i++ {
		require.NoError(t, s.Put(ctx, fmt.Sprintf("k%d", i), -1, i))
	}
	require.Positive(t, served[1].Load(), "moved on to the third node")
	n, err := s.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 20, n)
	recs, _, _, err := db.Read(ctx, streamdriver.Query{Limit: 100})
	require.NoError(t, err)
	require.Len(t, recs, 20, "each write applied once")
	for _, r := range recs {
		require.Equal(t, driver.ActionCreate, r.Action)
	}
}
