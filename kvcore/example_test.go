package kvcore_test

// These examples need no database. Examples of Store itself (Put, Get,
// Patch, MutateAll, AllPrefix, Typed, namespaces, TTL) run on a backend, so
// they live in the SQLite backend's module, which kvcore does not depend
// on: see the examples of github.com/kvsuite/kv/backend-sqlite
// (Example_store, Example_typed, Example_namespaces, Example_expiry,
// Example_mutateAll, Example_paging).

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// TypeOf names the record type a value is stored under.
func ExampleTypeOf() {
	type Person struct{ Name string }
	fmt.Printf("%q %q %q\n", kvcore.TypeOf(Person{}), kvcore.TypeOf(&Person{}), kvcore.TypeOf(json.RawMessage(`{}`)))
	// Output: "Person" "Person" ""
}

// Any non-empty UTF-8 string without NUL, up to 1024 bytes, is a key; no
// character is special.
func ExampleValidateKey() {
	for _, key := range []string{"user/alice", "50%_off*", "", strings.Repeat("k", kvcore.MaxKeyLen+1)} {
		err := kvcore.ValidateKey(key)
		fmt.Println(len(key), errors.Is(err, kvcore.ErrInvalidKey))
	}
	// Output:
	// 10 false
	// 8 false
	// 0 true
	// 1025 true
}

func ExampleValidateNamespace() {
	for _, ns := range []string{"", "tenant-42", "a\x00b"} {
		fmt.Println(kvcore.ValidateNamespace(ns))
	}
	// Output:
	// <nil>
	// <nil>
	// invalid argument: namespace "a\x00b": contains a NUL byte
}

// Decode keeps every number exactly: into an interface{} they become
// json.Number, never a rounded float64.
func ExampleRecord_Decode() {
	r := kvcore.Record{Key: "big", Value: json.RawMessage(`{"id":12345678901234567890,"ratio":0.1}`)}
	var v map[string]any
	if err := r.Decode(&v); err != nil {
		fmt.Println(err)
	}
	fmt.Println(v["id"], v["ratio"])
	// Output: 12345678901234567890 0.1
}

// Every time kv stores is from MinTime to MaxTime (years 1 to 9999).
func ExampleValidateTime() {
	fmt.Println(kvcore.ValidateTime("expiry", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
	err := kvcore.ValidateTime("expiry", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(errors.Is(err, kvcore.ErrInvalidArgument))
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// invalid argument: expiry 10000-01-01 00:00:00 +0000 UTC is outside the times kv stores, 0001-01-01T00:00:00.000001Z to 9999-12-31T23:59:59.999999Z
}
