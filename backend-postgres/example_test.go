package postgreskv_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
)

// Example opens a database, creates kv's tables in a schema of their own and
// uses the store. (databaseURL is the test database; in a program it would be
// something like "postgres://app:secret@db.example.com:5432/app".)
func Example() {
	ctx := context.Background()
	db, err := postgreskv.Open(ctx, databaseURL, postgreskv.WithSchema("example"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Init(ctx); err != nil { // idempotent; safe from many processes
		log.Fatal(err)
	}
	store, err := db.Store()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	type User struct {
		Name string `json:"name"`
	}
	if err := store.Put(ctx, "user/alice", 0, User{Name: "Alice"}); err != nil {
		log.Fatal(err)
	}
	r, err := store.GetRecord(ctx, "user/alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Key, r.Version, r.Type, string(r.Value))

	// Version 0 means "only if it does not exist".
	err = store.Put(ctx, "user/alice", 0, User{Name: "Impostor"})
	fmt.Println(errors.Is(err, kvcore.ErrVersionMismatch))

	n, err := store.Delete(ctx, "user/alice")
	fmt.Println(n, err)
	// Output:
	// user/alice 1 User {"name":"Alice"}
	// true
	// 1 <nil>
}

// Example_stream follows the change stream with a named consumer, which
// keeps its position in the database.
func Example_stream() {
	ctx := context.Background()
	db, err := postgreskv.Open(ctx, databaseURL, postgreskv.WithSchema("example_stream"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Init(ctx); err != nil {
		log.Fatal(err)
	}
	store, err := db.Store()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	stream, err := kvstream.New(db)
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if err := store.Put(ctx, k, -1, 1); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := store.Delete(ctx, "a"); err != nil {
		log.Fatal(err)
	}
	c, err := stream.Consumer("indexer")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)
	recs, err := c.Get(ctx) // reads the next batch and commits it
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(r.Seq, r.Action, r.Key, r.Version)
	}
	// Output:
	// 1 create a 1
	// 2 create b 1
	// 3 delete a 1
}
