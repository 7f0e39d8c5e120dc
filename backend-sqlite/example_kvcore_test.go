package sqlitekv_test

// Runnable examples of kvcore.Store's entry points. They live here, in the
// SQLite backend's tests, because kvcore's own module does not depend on any
// backend (see ARCHITECTURE.md: a front module never requires a backend).

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// fakeClock is a settable clock for deterministic examples.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Typed access: a kvcore.Typed[T] view encodes and decodes Ts, and records
// the Go type's name as the record type.
func Example_typed() {
	ctx := context.Background()
	db, store := openExample(ctx)
	defer db.Close()
	defer store.Close()

	type Person struct {
		Name string `json:"name"`
		Age  int    `json:"age"`
	}
	people := kvcore.NewTyped[Person](store)
	_ = people.Put(ctx, "person/alice", 0, Person{Name: "Alice", Age: 30})
	_ = people.Put(ctx, "person/bob", 0, Person{Name: "Bob", Age: 25})
	_ = people.Patch(ctx, "person/alice", 1, map[string]any{"age": 31})

	alice, rec, err := people.Get(ctx, "person/alice")
	fmt.Println(alice.Name, alice.Age, rec.Version, rec.Type, err)

	_, _, err = people.Get(ctx, "person/carol")
	fmt.Println(errors.Is(err, kvcore.ErrNotFound))

	for item, err := range people.AllPrefix(ctx, "person/") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(item.Key, item.Value.Name)
	}
	n, _ := store.CountType(ctx, "Person")
	fmt.Println("Person records:", n)
	// Output:
	// Alice 31 2 Person <nil>
	// true
	// person/alice Alice
	// person/bob Bob
	// Person records: 2
}

// Namespaces: views of one database whose keyspaces never mix.
func Example_namespaces() {
	ctx := context.Background()
	db, store := openExample(ctx)
	defer db.Close()
	defer store.Close()

	acme, _ := store.Namespace("tenant/acme")
	globex, _ := store.Namespace("tenant/globex")
	_ = acme.Put(ctx, "config", -1, map[string]string{"plan": "pro"})
	_ = globex.Put(ctx, "config", -1, map[string]string{"plan": "free"})

	var cfg struct{ Plan string }
	_, _, _ = acme.Get(ctx, "config", &cfg)
	fmt.Println(acme.NamespaceName(), cfg.Plan)
	_, _, _ = globex.Get(ctx, "config", &cfg)
	fmt.Println(globex.NamespaceName(), cfg.Plan)
	_, ok, _ := store.Get(ctx, "config", nil) // the default namespace ""
	fmt.Println("in the default namespace:", ok)
	// Output:
	// tenant/acme pro
	// tenant/globex free
	// in the default namespace: false
}

// Expiry with a fixed clock: a record with a TTL vanishes from every read
// when its time comes; Touch extends it; Sweep removes expired records.
func Example_expiry() {
	ctx := context.Background()
	clock := newFakeClock()
	db, _ := openExample(ctx)
	defer db.Close()
	store, err := db.Store(kvcore.WithClock(clock.Now), kvcore.WithSweepInterval(0))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	_ = store.Put(ctx, "session/1", 0, "token-1", kvcore.WithTTL(30*time.Minute))
	_ = store.Put(ctx, "session/2", 0, "token-2", kvcore.WithTTL(30*time.Minute))
	rec, _ := store.GetRecord(ctx, "session/1")
	fmt.Println("expires in", rec.Expires.Sub(clock.Now()))

	clock.Advance(20 * time.Minute)
	_ = store.Touch(ctx, "session/2", time.Hour) // session/2 now lasts another hour
	clock.Advance(20 * time.Minute)              // session/1 has expired

	_, ok1, _ := store.Get(ctx, "session/1", nil)
	_, ok2, _ := store.Get(ctx, "session/2", nil)
	n, _ := store.Count(ctx)
	fmt.Println(ok1, ok2, n)

	removed, _ := store.Sweep(ctx) // its removal is a delete in the stream
	fmt.Println("swept", removed)
	// Output:
	// expires in 30m0s
	// false true 1
	// swept 1
}

// MutateAll: many writes in one transaction, all or nothing. A version
// that does not hold names the mutation and changes nothing.
func Example_mutateAll() {
	ctx := context.Background()
	db, store := openExample(ctx)
	defer db.Close()
	defer store.Close()

	rows, err := store.MutateAll(ctx,
		kvcore.Put("account/a", 0, map[string]int{"balance": 100}),
		kvcore.Put("account/b", 0, map[string]int{"balance": 0}),
	)
	fmt.Println(rows, err)

	// Move 30 from a to b, only if neither changed since version 1.
	_, err = store.MutateAll(ctx,
		kvcore.Patch("account/a", 1, map[string]int{"balance": 70}),
		kvcore.Patch("account/b", 1, map[string]int{"balance": 30}),
	)
	fmt.Println(err)

	// Again from version 1: the first patch no longer holds, so neither applies.
	_, err = store.MutateAll(ctx,
		kvcore.Patch("account/a", 1, map[string]int{"balance": 40}),
		kvcore.Patch("account/b", 2, map[string]int{"balance": 60}),
	)
	fmt.Println(errors.Is(err, kvcore.ErrVersionMismatch))
	for r, err := range store.AllPrefix(ctx, "account/") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Key, r.Version, string(r.Value))
	}
	// Output:
	// [1 1] <nil>
	// <nil>
	// true
	// account/a 2 {"balance":70}
	// account/b 2 {"balance":30}
}

// Paging: offset/limit for compatibility, or a cursor that resumes after
// the last key of the previous page at the same cost however deep it is.
func Example_paging() {
	ctx := context.Background()
	db, store := openExample(ctx)
	defer db.Close()
	defer store.Close()
	for i := 1; i <= 5; i++ {
		_ = store.Put(ctx, fmt.Sprintf("log/%03d", i), -1, i)
	}
	page, _ := store.GetPrefix(ctx, "log/", 1, 2) // skip 1, take 2
	fmt.Println(page[0].Key, page[1].Key)

	var keys []string
	last := "log/002" // the last key the previous page returned
	for r, err := range store.AllPrefix(ctx, "log/", kvcore.StartAfter(last), kvcore.PageSize(2)) {
		if err != nil {
			log.Fatal(err)
		}
		keys = append(keys, r.Key)
	}
	fmt.Println(keys)
	n, _ := store.CountRange(ctx, "log/002", "log/004") // half-open: [from, to)
	fmt.Println(n)
	// Output:
	// log/002 log/003
	// [log/003 log/004 log/005]
	// 2
}

// A snapshot reads every namespace as of one moment: writes committed while
// it reads (by other goroutines or processes) are not in it, and its stream
// position says which changes are.
func Example_snapshot() {
	ctx := context.Background()
	db, store := openExample(ctx)
	defer db.Close()
	defer store.Close()

	orders, _ := store.Namespace("orders")
	_, _ = store.MutateAll(ctx, kvcore.Put("a", 0, 1), kvcore.Put("b", 0, 2))
	_ = orders.Put(ctx, "o1", 0, "new")

	err := store.Snapshot(ctx, func(sn *kvcore.Snapshot) error {
		seq, exact := sn.StreamSeq()
		fmt.Println("stream position", seq, exact)
		namespaces, err := sn.Namespaces(ctx)
		if err != nil {
			return err
		}
		for _, ns := range namespaces {
			for r, err := range sn.All(ctx, ns) {
				if err != nil {
					return err
				}
				fmt.Printf("%q %s %s\n", ns, r.Key, r.Value)
			}
		}
		return nil
	})
	fmt.Println(err)
	// Output:
	// stream position 3 true
	// "" a 1
	// "" b 2
	// "orders" o1 "new"
	// <nil>
}
