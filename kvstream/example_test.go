package kvstream_test

// These examples need no database. Examples of Stream.Read and of consumers
// (Get with commit modes, Run) run on a backend, so they live in the SQLite
// backend's module, which kvstream does not depend on: see the examples of
// github.com/kvsuite/kv/backend-sqlite (Example_streamRead,
// Example_consumer, Example_consumerRun).

import (
	"errors"
	"fmt"

	"github.com/kvsuite/kv/kvstream"
)

// The commit modes, as a flag or config value would give them.
func ExampleParseCommitMode() {
	for _, s := range []string{"all", "batch", "none", "sometimes"} {
		m, err := kvstream.ParseCommitMode(s)
		fmt.Printf("%q %v\n", m, errors.Is(err, kvstream.ErrInvalidArgument))
	}
	// Output:
	// "all" false
	// "batch" false
	// "none" false
	// "" true
}

// A read of a trimmed position fails with a *TrimmedError that says where
// the stream now starts; a consumer can decide to skip ahead to it.
func ExampleTrimmedError() {
	var err error = &kvstream.TrimmedError{From: 5, Start: 120}
	var te *kvstream.TrimmedError
	if errors.Is(err, kvstream.ErrTrimmed) && errors.As(err, &te) {
		fmt.Println("asked for", te.From, "- the stream starts at", te.Start)
	}
	// Output: asked for 5 - the stream starts at 120
}
