package rqlitekv

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
)

// TestConnectionsAreReused: 1000 writes and reads from 16 goroutines open
// no more HTTP connections than there are goroutines (keep-alive, with
// enough idle connections kept per host). It counts the connections the
// driver's HTTP client dialled.
func TestConnectionsAreReused(t *testing.T) {
	db, c := openCounted(t)
	ctx := context.Background()
	s, err := db.Store(kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	defer s.Close()

	const workers, calls = 16, 1000
	before, beforeConns := c.get(), c.conns()
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
	after := c.get()
	conns := c.conns() - beforeConns
	requests := after.request + after.query - before.request - before.query
	t.Logf("%d calls: %d HTTP requests over %d new connections", calls, requests, conns)
	require.GreaterOrEqual(t, requests, int64(calls/2), "every read is a request")
	require.LessOrEqual(t, conns, int64(workers+1), "connections are kept alive and reused")
}
