package sqlitekv_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
)

// openExample opens an initialised in-memory database and its store.
func openExample(ctx context.Context) (*sqlitekv.DB, *kvcore.Store) {
	db, err := sqlitekv.OpenMemory()
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Init(ctx); err != nil {
		log.Fatal(err)
	}
	store, err := db.Store()
	if err != nil {
		log.Fatal(err)
	}
	return db, store
}

// Versions, merge patch, TTLs and batches through kvcore.Store.
func Example_store() {
	ctx := context.Background()
	db, store := openExample(ctx)
	defer db.Close()
	defer store.Close()

	type Person struct {
		Name string `json:"name"`
		City string `json:"city,omitempty"`
	}
	_ = store.Put(ctx, "person/alice", 0, Person{Name: "Alice"}) // 0: only if new
	err := store.Put(ctx, "person/alice", 0, Person{Name: "Mallory"})
	fmt.Println("second create:", err)

	_ = store.Patch(ctx, "person/alice", 1, json.RawMessage(`{"city":"Paris"}`))
	rec, _ := store.GetRecord(ctx, "person/alice")
	fmt.Println(string(rec.Value), rec.Version, rec.Type)

	_, _ = store.MutateAll(ctx,
		kvcore.Put("session/1", -1, "token", kvcore.WithTTL(time.Hour)),
		kvcore.Put("person/bob", -1, Person{Name: "Bob"}),
	)
	for r, err := range store.AllPrefix(ctx, "person/") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Key)
	}
	// Output:
	// second create: kv put "person/alice": version mismatch
	// {"name":"Alice","city":"Paris"} 2 Person
	// person/alice
	// person/bob
}

// A lease with a fencing token: writes fenced by a stale token fail.
func Example_lease() {
	ctx := context.Background()
	db, store := openExample(ctx)
	defer db.Close()
	defer store.Close()

	locks, err := kvlock.New(db)
	if err != nil {
		log.Fatal(err)
	}
	lease, ok, _ := locks.Acquire(ctx, "report-writer", "worker-1", time.Minute)
	fmt.Println(ok, lease.Token)

	fenced := store.WithFence("report-writer", lease.Token)
	fmt.Println(fenced.Put(ctx, "report", -1, "by worker-1"))

	_, _ = locks.Release(ctx, "report-writer", "worker-1")
	_, _, _ = locks.Acquire(ctx, "report-writer", "worker-2", time.Minute)
	err = fenced.Put(ctx, "report", -1, "late write by worker-1")
	fmt.Println(errors.Is(err, kvcore.ErrFenced))
	// Output:
	// true 1
	// <nil>
	// true
}

// A named consumer reads the change stream in batches and commits its place.
func Example_consumer() {
	ctx := context.Background()
	db, store := openExample(ctx)
	defer db.Close()
	defer store.Close()

	stream, err := kvstream.New(db)
	if err != nil {
		log.Fatal(err)
	}
	_ = store.Put(ctx, "a", -1, 1)
	_ = store.Put(ctx, "a", -1, 2)
	_, _ = store.Delete(ctx, "a")

	c, err := stream.Consumer("audit", kvstream.BatchSize(2))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)
	for {
		batch, err := c.Get(ctx) // commits each batch (kvstream.CommitBatch)
		if err != nil {
			log.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, r := range batch {
			value := string(r.Value)
			if r.Action == "delete" {
				value = "(deleted)"
			}
			fmt.Printf("%d %s %s v%d %s\n", r.Seq, r.Action, r.Key, r.Version, value)
		}
	}
	st, _ := stream.ConsumerStatus(ctx, "audit")
	fmt.Println("position", st.Position, "lag", st.Lag)
	// Output:
	// 1 create a v1 1
	// 2 update a v2 2
	// 3 delete a v2 (deleted)
	// position 3 lag 0
}
