package sqlitekv_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
)

func Example() {
	dir, err := os.MkdirTemp("", "kv-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	db, err := sqlitekv.Open("file:" + filepath.Join(dir, "data.db") + "?mode=rwc")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Init(ctx); err != nil { // create or migrate the schema
		log.Fatal(err)
	}
	store, err := db.Store()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	if err := store.Put(ctx, "greeting", 0, map[string]string{"text": "hello"}); err != nil {
		log.Fatal(err)
	}
	var v struct{ Text string }
	rec, ok, err := store.Get(ctx, "greeting", &v)
	if err != nil || !ok {
		log.Fatal(ok, err)
	}
	fmt.Println(v.Text, rec.Version, string(rec.Value))
	// Output: hello 1 {"text":"hello"}
}

func ExampleOpenMemory() {
	db, err := sqlitekv.OpenMemory()
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
	_ = store.Put(ctx, "a", -1, 1)
	n, _ := store.Count(ctx)
	fmt.Println(n)
	// Output: 1
}
