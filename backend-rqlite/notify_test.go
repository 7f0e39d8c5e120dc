package rqlitekv

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// TestSubscriptionsEndWithClose: Close closes the channels of Subscribe
// and SubscribeTasks, and both refuse with ErrClosed after it.
func TestSubscriptionsEndWithClose(t *testing.T) {
	db := openEmpty(t)
	ctx := context.Background()
	stream, err := db.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := db.SubscribeTasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan struct{}{"Subscribe": stream, "SubscribeTasks": tasks} {
		select {
		case _, open := <-ch:
			if open {
				t.Errorf("%s: a signal, not the close", name)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s: the channel stayed open after Close", name)
		}
	}
	if _, err := db.Subscribe(ctx); !errors.Is(err, kvcore.ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
	if _, err := db.SubscribeTasks(ctx); !errors.Is(err, kvcore.ErrClosed) {
		t.Errorf("SubscribeTasks after Close: %v, want ErrClosed", err)
	}
}
