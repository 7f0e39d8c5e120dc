package sqlitekv_test

// Runnable examples of kvlock (leases with fencing tokens). They live in the
// SQLite backend's tests because kvlock's module depends on no backend.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
)

// Hold keeps a lease renewed in the background until it is released; while
// it is held, nobody else gets it.
func Example_hold() {
	ctx := context.Background()
	db, _ := openExample(ctx)
	defer db.Close()
	locks, err := kvlock.New(db)
	if err != nil {
		log.Fatal(err)
	}

	hold, err := locks.Hold(ctx, "leader", "node-1", 30*time.Second) // renewed every 10s
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("node-1 leads with token", hold.Token())

	holder, ok, _ := locks.Acquire(ctx, "leader", "node-2", 30*time.Second)
	fmt.Println("node-2 acquired:", ok, "- held by", holder.Owner)
	_, err = locks.Hold(ctx, "leader", "node-2", 30*time.Second)
	fmt.Println(errors.Is(err, kvlock.ErrHeld))

	_ = hold.Release(ctx) // step down; Lost() is closed too
	<-hold.Lost()
	lease, ok, _ := locks.Acquire(ctx, "leader", "node-2", 30*time.Second)
	fmt.Println("node-2 acquired:", ok, "with token", lease.Token)
	// Output:
	// node-1 leads with token 1
	// node-2 acquired: false - held by node-1
	// true
	// node-2 acquired: true with token 2
}

// A lease expires if its holder stops renewing it (paused, partitioned,
// crashed). The next owner gets a higher token, and the store refuses the
// old holder's fenced writes, checked in the write's own transaction.
func Example_fencing() {
	ctx := context.Background()
	clock := newFakeClock()
	db, _ := openExample(ctx)
	defer db.Close()
	store, err := db.Store(kvcore.WithClock(clock.Now))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	locks, err := kvlock.New(db, kvlock.WithClock(clock.Now))
	if err != nil {
		log.Fatal(err)
	}

	a, _, _ := locks.Acquire(ctx, "report", "worker-a", 10*time.Second)
	asA := store.WithFence("report", a.Token)
	fmt.Println("a writes:", asA.Put(ctx, "report/today", -1, "draft by a"))

	clock.Advance(15 * time.Second) // worker-a stalls past its lease
	_, held, _ := locks.Status(ctx, "report")
	fmt.Println("held:", held)

	b, _, _ := locks.Acquire(ctx, "report", "worker-b", 10*time.Second)
	fmt.Println("tokens:", a.Token, b.Token)
	asB := store.WithFence("report", b.Token)
	fmt.Println("b writes:", asB.Put(ctx, "report/today", -1, "final by b"))

	err = asA.Put(ctx, "report/today", -1, "late write by a") // worker-a wakes up
	fmt.Println("a fenced:", errors.Is(err, kvcore.ErrFenced))
	var v string
	_, _, _ = store.Get(ctx, "report/today", &v)
	fmt.Println(v)
	// Output:
	// a writes: <nil>
	// held: false
	// tokens: 1 2
	// b writes: <nil>
	// a fenced: true
	// final by b
}
