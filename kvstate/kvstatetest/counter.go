package kvstatetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstate"
)

// Counter is the state of the suite's counting machine.
type Counter struct {
	N int64 `json:"n"`
}

// Increment is the counting machine's inbound event: add By (> 0).
type Increment struct {
	By int64 `json:"by"`
}

// Incremented is the counting machine's outbound event: the counter's
// value after an Increment.
type Incremented struct {
	N int64 `json:"n"`
}

// ErrNotPositive is the counting machine's rejection of an Increment
// whose By is not positive.
var ErrNotPositive = errors.New("increment is not positive")

// CountTransition is the counting machine's transition.
func CountTransition(c *Counter, event any) ([]any, error) {
	switch e := event.(type) {
	case Increment:
		if e.By <= 0 {
			return nil, fmt.Errorf("increment by %d: %w", e.By, ErrNotPositive)
		}
		c.N += e.By
		return []any{Incremented{N: c.N}}, nil
	}
	return nil, fmt.Errorf("counter: unexpected event %T", event)
}

// CounterEvents registers the counting machine's events.
var CounterEvents = kvstate.Events(kvstate.Event[Increment](), kvstate.Event[Incremented]())

// Counters returns the counting machine on store (kind "Counter"), its
// transition counted in calls (if not nil).
func Counters(store *kvcore.Store, calls *atomic.Int64, opts ...kvstate.Option) (*kvstate.Machine[Counter], error) {
	transition := CountTransition
	if calls != nil {
		transition = func(c *Counter, event any) ([]any, error) {
			calls.Add(1)
			return CountTransition(c, event)
		}
	}
	return kvstate.NewMachine(store, transition, append([]kvstate.Option{CounterEvents}, opts...)...)
}

// Writers is a concurrent workload of Increments of 1 on one counter.
type Writers struct {
	// Goroutines each commit Each increments.
	Goroutines, Each int
	// Machines is how many machines the goroutines share, in turn: 1 (or
	// 0) makes them all load the entity from one machine, whose entity
	// runs their Process calls one at a time; Goroutines gives each its
	// own, as separate processes would have, so their writes conflict.
	Machines int
	// Options configure every machine.
	Options []kvstate.Option
}

// Increments runs w on counter id and returns how many times the
// transition ran: the commits plus the runs lost to conflicts.
func Increments(ctx context.Context, store *kvcore.Store, id string, w Writers) (int64, error) {
	var calls atomic.Int64
	machines := make([]*kvstate.Machine[Counter], max(w.Machines, 1))
	for i := range machines {
		var err error
		if machines[i], err = Counters(store, &calls, w.Options...); err != nil {
			return 0, err
		}
	}
	errs := make(chan error, w.Goroutines)
	var wg sync.WaitGroup
	for g := range w.Goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := machines[g%len(machines)].Load(ctx, id)
			for i := 0; err == nil && i < w.Each; i++ {
				_, err = e.Process(ctx, Increment{By: 1})
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return calls.Load(), errors.Join(all...)
}

// CheckIncrements checks counter id after total committed Increments of 1:
// its state is total at version total, and its history holds exactly
// 2*total events numbered 1 to 2*total, each Increment (odd numbers)
// followed by the Incremented it produced, whose values are 1 to total in
// order, so every commit saw the one before it.
func CheckIncrements(t testing.TB, store *kvcore.Store, id string, total int) {
	t.Helper()
	m, err := Counters(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := m.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.State().N; got != int64(total) {
		t.Errorf("counter %s = %d, want %d", id, got, total)
	}
	if got := e.Version(); got != int64(total) {
		t.Errorf("state record version %d, want %d (one commit per increment)", got, total)
	}
	if got := e.Seq(); got != 2*int64(total) {
		t.Errorf("last event number %d, want %d", got, 2*total)
	}
	var in, out int
	var want int64 = 1
	for ev, err := range m.History(context.Background(), id) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Seq != want {
			t.Fatalf("event number %d follows %d: a gap or a duplicate", ev.Seq, want-1)
		}
		want++
		if wantOut := ev.Seq%2 == 0; ev.Outbound != wantOut {
			t.Fatalf("event %d outbound=%t, want %t (each Increment followed by its Incremented)", ev.Seq, ev.Outbound, wantOut)
		}
		switch v := ev.Value.(type) {
		case Increment:
			in++
			if ev.Outbound || ev.Name != "Increment" || v.By != 1 {
				t.Fatalf("event %d: %+v", ev.Seq, ev)
			}
		case Incremented:
			out++
			if !ev.Outbound || ev.Name != "Incremented" || v.N != ev.Seq/2 {
				t.Fatalf("event %d: %+v, want Incremented{N: %d}: a commit did not see the one before it", ev.Seq, ev, ev.Seq/2)
			}
		default:
			t.Fatalf("event %d has a value of type %T", ev.Seq, ev.Value)
		}
	}
	if in != total || out != total {
		t.Errorf("%d inbound and %d outbound events, want %d of each", in, out, total)
	}
}
