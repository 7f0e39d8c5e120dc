package cache_test

import (
	"context"
	"fmt"
	"log"
	"time"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/examples/internal/exampledb"
	"github.com/kvsuite/kv/kvcache"
	"github.com/kvsuite/kv/kvcore"
)

// open returns a database in a temporary file, with kv's schema, and its
// store.
func open(ctx context.Context) (*sqlitekv.DB, *kvcore.Store, func()) {
	db, closeDB, err := exampledb.Open(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	store, err := db.Store()
	if err != nil {
		log.Fatal(err)
	}
	return db, store, func() { store.Close(); closeDB() }
}

// A cache answers reads from memory; a change made by another writer
// reaches it through the stream.
func Example() {
	ctx := context.Background()
	db, store, done := open(ctx)
	defer done()

	// Bounded staleness (the default, with 1s): a read reflects every
	// change committed a minute before it began, or goes to the database.
	cache, err := kvcache.New(store, db, kvcache.Bounded(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()

	if err := store.Put(ctx, "greeting", -1, "hello"); err != nil {
		log.Fatal(err)
	}
	// Sync waits until the cache reflects every change committed before
	// it (here: until its follower has started).
	if err := cache.Sync(ctx); err != nil {
		log.Fatal(err)
	}
	var s string
	cache.Get(ctx, "greeting", &s) // read from the database, now cached
	cache.Get(ctx, "greeting", &s) // from memory
	fmt.Println(s)

	// Another writer (here the store itself, not the cache) changes the
	// key; once the follower has read the change, the cache reads it anew.
	if err := store.Put(ctx, "greeting", -1, "bonjour"); err != nil {
		log.Fatal(err)
	}
	if err := cache.Sync(ctx); err != nil {
		log.Fatal(err)
	}
	if _, _, err := cache.Get(ctx, "greeting", &s); err != nil {
		log.Fatal(err)
	}
	fmt.Println(s)
	st := cache.Stats()
	fmt.Printf("hits %d, misses %d\n", st.Hits, st.Misses)
	// Output:
	// hello
	// bonjour
	// hits 1, misses 2
}

// Writes through the cache are read back at once, whatever the cache's
// promise for other writers.
func Example_readYourWrites() {
	ctx := context.Background()
	db, store, done := open(ctx)
	defer done()
	cache, err := kvcache.New(store, db, kvcache.Bounded(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
	if err := cache.Sync(ctx); err != nil {
		log.Fatal(err)
	}

	for _, v := range []int{1, 2, 3} {
		if err := cache.Put(ctx, "counter", -1, v); err != nil {
			log.Fatal(err)
		}
		rec, err := cache.GetRecord(ctx, "counter")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("v%d %s\n", rec.Version, rec.Value)
	}
	if _, err := cache.Delete(ctx, "counter"); err != nil {
		log.Fatal(err)
	}
	_, ok, _ := cache.Get(ctx, "counter", nil)
	fmt.Println("exists:", ok)
	// Output:
	// v1 1
	// v2 2
	// v3 3
	// exists: false
}

// A fresh cache is linearizable: every read sees every write completed
// before it, made through the cache or not.
func Example_fresh() {
	ctx := context.Background()
	db, store, done := open(ctx)
	defer done()
	cache, err := kvcache.New(store, db, kvcache.Fresh())
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()

	var n int
	for _, v := range []int{10, 20} {
		if err := store.Put(ctx, "n", -1, v); err != nil { // not through the cache
			log.Fatal(err)
		}
		if _, _, err := cache.Get(ctx, "n", &n); err != nil {
			log.Fatal(err)
		}
		fmt.Println(n)
	}
	// Output:
	// 10
	// 20
}

type Person struct {
	Name string `json:"name"`
	City string `json:"city"`
}

// Typed reads and writes through a cache.
func ExampleNewTyped() {
	ctx := context.Background()
	db, store, done := open(ctx)
	defer done()
	cache, err := kvcache.New(store, db, kvcache.MaxEntries(10_000), kvcache.MaxBytes(16<<20))
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
	people := kvcache.NewTyped[Person](cache)

	if err := people.Put(ctx, "person/ann", -1, Person{Name: "Ann", City: "Oslo"}); err != nil {
		log.Fatal(err)
	}
	if err := people.Patch(ctx, "person/ann", -1, map[string]any{"city": "Bergen"}); err != nil {
		log.Fatal(err)
	}
	ann, rec, err := people.Get(ctx, "person/ann")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ann.Name, ann.City, rec.Type, rec.Version)
	items, err := people.GetBatch(ctx, "person/bob", "person/ann")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(items), items[0].Key)
	// Output:
	// Ann Bergen Person 2
	// 1 person/ann
}
