package rqlitekv_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	rqlitekv "github.com/kvsuite/kv/backend-rqlite"
	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
)

// Example opens a store on rqlite, writes a record with optimistic
// concurrency and reads it back. startServer starts an rqlite node of its
// own (see below); with a server of yours, pass its URL, e.g.
// "http://localhost:4001?user=admin&password=secret", or several nodes of
// a cluster, "http://h1:4001,h2:4001,h3:4001".
func Example() {
	url, stop := startServer()
	defer stop()

	db, err := rqlitekv.Open(url + "?level=weak")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := db.Store()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Init(ctx); err != nil {
		log.Fatal(err)
	}

	type Person struct {
		Name string `json:"name"`
		Age  int    `json:"age"`
	}
	// Version 0: create only if the key does not exist.
	if err := store.Put(ctx, "people/alice", 0, Person{Name: "Alice", Age: 30}); err != nil {
		log.Fatal(err)
	}
	// A merge patch, conditional on version 1.
	if err := store.Patch(ctx, "people/alice", 1, map[string]any{"age": 31}); err != nil {
		log.Fatal(err)
	}
	var p Person
	r, ok, err := store.Get(ctx, "people/alice", &p)
	if err != nil || !ok {
		log.Fatal(ok, err)
	}
	fmt.Println(r.Key, r.Version, r.Type, p.Name, p.Age, string(r.Value))
	// Output: people/alice 2 Person Alice 31 {"name":"Alice","age":31}
}

// Example_stream takes a lease, fences a write with it, and reads the
// change stream through a named consumer (rqlite has no notifications:
// a continuous consumer, Consumer.Run, polls with bounded backoff).
func Example_stream() {
	url, stop := startServer()
	defer stop()
	db, err := rqlitekv.Open(url)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Init(ctx); err != nil {
		log.Fatal(err)
	}
	store, err := db.Store()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	locker, err := kvlock.New(db)
	if err != nil {
		log.Fatal(err)
	}
	lease, ok, err := locker.Acquire(ctx, "writer", "worker-1", time.Minute)
	if err != nil || !ok {
		log.Fatal(ok, err)
	}
	// Only while worker-1 still holds the lease with this token.
	fenced := store.WithFence("writer", lease.Token)
	if err := fenced.Put(ctx, "jobs/1", 0, map[string]string{"state": "new"}); err != nil {
		log.Fatal(err)
	}
	if err := store.Patch(ctx, "jobs/1", -1, map[string]string{"state": "done"}); err != nil {
		log.Fatal(err)
	}

	stream, err := kvstream.New(db)
	if err != nil {
		log.Fatal(err)
	}
	c, err := stream.Consumer("indexer", kvstream.Owner("indexer-1"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)
	recs, err := c.Get(ctx) // takes the consumer's lease, reads and commits a batch
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(r.Seq, r.Action, r.Key, r.Version, string(r.Value))
	}
	// Output:
	// 1 create jobs/1 1 {"state":"new"}
	// 2 update jobs/1 2 {"state":"done"}
}

// ExampleWithReadConsistency reads one record through Raft (strong) while
// the connection's other reads keep its level (weak by default).
func ExampleWithReadConsistency() {
	url, stop := startServer()
	defer stop()
	db, err := rqlitekv.Open(url)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := db.Store()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Init(ctx); err != nil {
		log.Fatal(err)
	}
	if err := store.Put(ctx, "counter", 0, 41); err != nil {
		log.Fatal(err)
	}

	strong := rqlitekv.WithReadConsistency(ctx, rqlitekv.ConsistencyStrong)
	var n int
	rec, ok, err := store.Get(strong, "counter", &n)
	if err != nil || !ok {
		log.Fatal(ok, err)
	}
	fmt.Println(db.Consistency(), rec.Version, n)
	// Output: weak 1 41
}

// startServer starts a single rqlited node on free loopback ports in a
// temporary directory (rqlitetest.RqlitedPath finds the binary), or, when
// there is none, rqlitetest's in-process stand-in, and returns its URL and
// a function that stops it.
func startServer() (string, func()) {
	if bin, err := rqlitetest.RqlitedPath(); err == nil {
		dir, err := os.MkdirTemp("", "rqlitekv-example-")
		if err != nil {
			log.Fatal(err)
		}
		n, err := rqlitetest.StartNode(bin, dir, "example", "")
		if err != nil {
			log.Fatal(err)
		}
		return n.URL(), func() { n.Stop(); os.RemoveAll(dir) }
	}
	srv, err := rqlitetest.New()
	if err != nil {
		log.Fatal(err)
	}
	return srv.URL, srv.Close
}
