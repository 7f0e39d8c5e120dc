package postgreskv_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/kvcore"
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
