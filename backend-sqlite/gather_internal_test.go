package sqlitekv

import (
	"context"
	"testing"
	"time"
)

// gatherDB is a DB with only what gather uses: the request channel (no
// writer goroutine takes from it).
func gatherDB(maxBatch int) *DB {
	return &DB{opts: options{maxBatch: maxBatch}, reqs: make(chan *request), closing: make(chan struct{})}
}

func newRequest() *request {
	return &request{ctx: context.Background(), done: make(chan error, 1)}
}

// sendLater sends n requests from their own goroutines and returns a
// channel closed when all were taken.
func sendLater(db *DB, n int) chan struct{} {
	taken := make(chan struct{})
	go func() {
		defer close(taken)
		done := make(chan struct{}, n)
		for range n {
			go func() {
				db.reqs <- newRequest()
				done <- struct{}{}
			}()
		}
		for range n {
			<-done
		}
	}()
	return taken
}

// TestGatherLoneCallerNeverWaits: after a group of one, gather returns
// the first request at once, whatever arrives later.
func TestGatherLoneCallerNeverWaits(t *testing.T) {
	db := gatherDB(256)
	got := db.gather([]*request{newRequest()}, groupStats{size: 1, took: time.Hour})
	if len(got) != 1 {
		t.Fatalf("gathered %d requests, want 1", len(got))
	}
}

// TestGatherWaitsForPreviousSize: after a group of 3, gather takes the
// requests that arrive while it waits, up to 3; with nobody coming it
// gives up after its bounded wait.
func TestGatherWaitsForPreviousSize(t *testing.T) {
	db := gatherDB(256)
	last := groupStats{size: 3, took: time.Hour} // wait the most: maxLinger
	// The senders run concurrently with gather; a loaded machine may not
	// schedule them within maxLinger, so allow a few attempts.
	best := 0
	for attempt := 0; attempt < 10 && best < 3; attempt++ {
		taken := sendLater(db, 2)
		got := db.gather([]*request{newRequest()}, last)
		best = max(best, len(got))
		for len(got) < 3 { // take the late ones so the senders finish
			got = append(got, <-db.reqs)
		}
		<-taken
	}
	if best != 3 {
		t.Fatalf("gathered at most %d requests in 10 attempts, want 3", best)
	}

	start := time.Now()
	got := db.gather([]*request{newRequest()}, last)
	if len(got) != 1 {
		t.Fatalf("gathered %d requests with nobody sending, want 1", len(got))
	}
	if d := time.Since(start); d < maxLinger {
		t.Errorf("gave up after %v, want about maxLinger (%v)", d, maxLinger)
	}
}

// TestGatherRespectsMaxBatch: gather never takes more than MaxBatch.
func TestGatherRespectsMaxBatch(t *testing.T) {
	db := gatherDB(2)
	taken := sendLater(db, 3)
	got := db.gather([]*request{newRequest()}, groupStats{size: 10, took: time.Hour})
	for len(got) < 2 {
		got = append(got, <-db.reqs) // on a slow machine the senders may come late
	}
	if len(got) != 2 {
		t.Fatalf("gathered %d requests, want MaxBatch 2", len(got))
	}
	<-db.reqs
	<-db.reqs
	<-taken
}
