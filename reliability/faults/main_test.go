package faults_test

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// skipOrFail skips t with reason, or fails it if the environment variable
// require is "1" (the part must run there).
func skipOrFail(t *testing.T, require, reason string) {
	t.Helper()
	if os.Getenv(require) == "1" {
		t.Fatalf("%s=1 but %s", require, reason)
	}
	fmt.Printf("SKIP %s: %s\n", t.Name(), reason)
	t.Skip(reason)
}

// waitFor calls ok every interval until it returns true or d passes, and
// reports whether it returned true.
func waitFor(d, interval time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}
