package integration_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstate"
	"github.com/kvsuite/kv/kvstate/kvstatetest"
)

// BenchmarkKVState measures events processed per second through kvstate,
// on one entity (one writer, event after event) and on 100 entities (a
// writer per entity, all at once), beside a hand-written
// read-modify-MutateAll loop that writes the same records (the state
// record, the inbound and the outbound event, create-only and conditional
// on the version read) in the same run. Three sides take turns, round by
// round, each first every third round:
//
//   - handwritten: Get the state, decode it, add one, MutateAll.
//   - kvstate: Process on entities loaded once (the usual use: no read
//     before a write; the copy of the state is a decode of its JSON).
//   - kvstate-load: Load, then Process, for every event (a read and a
//     write, like the hand-written loop).
//
// It reports each side's events/s and the cost ratios x-handwritten
// (kvstate's time over the hand-written loop's; the target is at most 1.2)
// and x-handwritten-load. b.N counts rounds: 20 events on one entity, or 2
// events on each of 100 entities.
func BenchmarkKVState(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for _, entities := range []int{1, 100} {
				b.Run(fmt.Sprintf("entities=%d", entities), func(b *testing.B) {
					benchKVState(b, openT(b, be.newPlace(b)).store, entities)
				})
			}
		})
	}
}

func benchKVState(b *testing.B, store *kvcore.Store, entities int) {
	ctx := context.Background()
	perEntity := 20 // events per entity per round
	if entities > 1 {
		perEntity = 2
	}
	counters, err := kvstatetest.Counters(store, nil)
	if err != nil {
		b.Fatal(err)
	}
	held := make([]*kvstate.Entity[kvstatetest.Counter], entities)
	for i := range held {
		if held[i], err = counters.Load(ctx, fmt.Sprintf("held-%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	sides := []struct {
		name  string
		event func(i int) error // one event on entity i
	}{
		{"handwritten", func(i int) error { return handwrittenIncrement(ctx, store, fmt.Sprintf("hand-%d", i)) }},
		{"kvstate", func(i int) error {
			_, err := held[i].Process(ctx, kvstatetest.Increment{By: 1})
			return err
		}},
		{"kvstate-load", func(i int) error {
			e, err := counters.Load(ctx, fmt.Sprintf("load-%d", i))
			if err == nil {
				_, err = e.Process(ctx, kvstatetest.Increment{By: 1})
			}
			return err
		}},
	}
	took := make([]time.Duration, len(sides))
	b.ResetTimer()
	for n := range b.N {
		for k := range sides {
			side := (k + n) % len(sides) // each side first every third round
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, entities)
			for i := range entities {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range perEntity {
						if err := sides[side].event(i); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			took[side] += time.Since(start)
			close(errs)
			for err := range errs {
				b.Fatalf("%s: %v", sides[side].name, err)
			}
		}
	}
	b.StopTimer()
	events := float64(b.N * entities * perEntity)
	for i, s := range sides {
		b.ReportMetric(events/took[i].Seconds(), s.name+"-events/s")
	}
	b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "x-handwritten")
	b.ReportMetric(took[2].Seconds()/took[0].Seconds(), "x-handwritten-load")
	// The work was done: every entity of every side counted every event.
	want := int64(b.N * perEntity)
	for i := range entities {
		for _, id := range []string{fmt.Sprintf("held-%d", i), fmt.Sprintf("load-%d", i)} {
			if e, err := counters.Load(ctx, id); err != nil || e.State().N != want {
				b.Fatalf("entity %s: %v, %v; want %d", id, e.State(), err, want)
			}
		}
		var st handState
		if _, _, err := store.Get(ctx, handKey(fmt.Sprintf("hand-%d", i)), &st); err != nil || st.State.N != want {
			b.Fatalf("hand-written entity %d: %+v, %v; want %d", i, st, err, want)
		}
	}
}

// handState is the state record the hand-written loop keeps: the same as
// kvstate's.
type handState struct {
	Seq   int64               `json:"seq"`
	State kvstatetest.Counter `json:"state"`
}

func handKey(id string) string { return "kvstate/Hand/" + id + "/state" }

// handwrittenIncrement is one event the way a careful user would write it
// by hand on kvcore: read the state, add one, and write the state and both
// events in one MutateAll, conditional on the version read, again on a
// conflict.
func handwrittenIncrement(ctx context.Context, store *kvcore.Store, id string) error {
	prefix := "kvstate/Hand/" + id + "/"
	for {
		var st handState
		rec, ok, err := store.Get(ctx, prefix+"state", &st)
		if err != nil {
			return err
		}
		var version int64
		if ok {
			version = rec.Version
		}
		st.State.N++
		st.Seq += 2
		_, err = store.MutateAll(ctx,
			kvcore.Put(prefix+"state", version, st, kvcore.WithType("Hand")),
			kvcore.Put(fmt.Sprintf("%sevents/%019d/in", prefix, st.Seq-1), 0, kvstatetest.Increment{By: 1}),
			kvcore.Put(fmt.Sprintf("%sevents/%019d/out", prefix, st.Seq), 0, kvstatetest.Incremented{N: st.State.N}),
		)
		if !errors.Is(err, kvcore.ErrVersionMismatch) {
			return err
		}
	}
}
