package rqlitekv

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
	"github.com/kvsuite/kv/kvcore"
)

// TestConnectionsAreReused: 1000 writes and reads from 16 goroutines open
// no more HTTP connections than there are goroutines (keep-alive, with
// enough idle connections kept per host). It counts the connections the
// stand-in accepted, so it always runs on the stand-in.
func TestConnectionsAreReused(t *testing.T) {
	srv := rqlitetest.Start(t)
	db, err := Open(srv.URL, WithTimeout(2*time.Minute))
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	require.NoError(t, db.Init(ctx))
	s, err := db.Store(kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	defer s.Close()

	const workers, calls = 16, 1000
	before := srv.Stats()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < calls; i += workers {
				key := fmt.Sprintf("k%d", i%50)
				var err error
				if i%2 == 0 {
					err = s.Put(ctx, key, -1, i)
				} else {
					var v int
					_, _, err = s.Get(ctx, key, &v)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	after := srv.Stats()
	conns := after.Conns - before.Conns
	requests := after.Request + after.Query - before.Request - before.Query
	t.Logf("%d calls: %d HTTP requests over %d new connections", calls, requests, conns)
	require.GreaterOrEqual(t, requests, int64(calls/2), "every read is a request")
	require.LessOrEqual(t, conns, int64(workers+1), "connections are kept alive and reused")
}
