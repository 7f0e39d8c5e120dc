package rqlitekv_test

import (
	"context"
	"fmt"
	"log"

	rqlitekv "github.com/kvsuite/kv/backend-rqlite"
	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// Example opens a store on rqlite, writes a record with optimistic
// concurrency and reads it back. It runs against rqlitetest, the project's
// in-process stand-in for rqlite; with a real server, pass its URL, e.g.
// "http://localhost:4001?user=admin&password=secret".
func Example() {
	srv, err := rqlitetest.New()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	db, err := rqlitekv.Open(srv.URL + "?level=weak")
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
