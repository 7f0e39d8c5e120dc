package signal_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvcore/driver/signal"
)

// received reports whether ch delivers a value (not a close) within d.
func received(ch <-chan struct{}, d time.Duration) bool {
	select {
	case _, ok := <-ch:
		return ok
	case <-time.After(d):
		return false
	}
}

// closed reports whether ch is closed within d (values before the close
// are drained).
func closed(ch <-chan struct{}, d time.Duration) bool {
	deadline := time.After(d)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func TestSignalReachesEverySubscriber(t *testing.T) {
	var h signal.Hub
	ctx := context.Background()
	a, err := h.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if received(a, 10*time.Millisecond) {
		t.Fatal("a signal before any Signal")
	}
	h.Signal()
	if !received(a, time.Second) || !received(b, time.Second) {
		t.Fatal("a subscriber was not signalled")
	}
}

func TestSignalsCoalesce(t *testing.T) {
	var h signal.Hub
	ch, err := h.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		h.Signal() // never blocks on a subscriber that does not read
	}
	if !received(ch, time.Second) {
		t.Fatal("no signal")
	}
	if received(ch, 10*time.Millisecond) {
		t.Fatal("five signals delivered more than one value")
	}
}

func TestSubscriptionEndsWithItsContext(t *testing.T) {
	var h signal.Hub
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := h.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, err := h.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if !closed(ch, time.Second) {
		t.Fatal("the channel stayed open after its context ended")
	}
	h.Signal() // a send on the closed channel would panic
	if !received(other, time.Second) {
		t.Fatal("the other subscriber lost its signal")
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	var h signal.Hub
	ch, err := h.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	h.Close() // again: nothing happens
	if !closed(ch, time.Second) {
		t.Fatal("the channel stayed open after Close")
	}
	h.Signal()
	if _, err := h.Subscribe(context.Background()); !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v, want driver.ErrClosed", err)
	}
}

// A driver keeps a Hub per kind of change and signals it after a commit
// of that kind; its Subscribe hands out the Hub's channels.
func ExampleHub() {
	var tasks signal.Hub
	defer tasks.Close()
	ch, _ := tasks.Subscribe(context.Background())

	tasks.Signal() // after a commit that inserted tasks
	<-ch
	fmt.Println("woken")
	// Output: woken
}
