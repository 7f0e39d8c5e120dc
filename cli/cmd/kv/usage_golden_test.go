package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/usage.golden from kv --help")

// TestUsageGolden keeps kv --help under review: the whole text is in
// testdata/usage.golden (go test -run TestUsageGolden -update rewrites it).
func TestUsageGolden(t *testing.T) {
	clearEnv(t)
	r := kv(t, "", "--help")
	if r.code != 0 {
		t.Fatalf("kv --help: exit %d", r.code)
	}
	golden := filepath.Join("testdata", "usage.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestUsageGolden -update)", err)
	}
	if r.stdout != string(want) {
		t.Errorf("kv --help differs from %s (run go test -run TestUsageGolden -update and review the diff):\n%s", golden, r.stdout)
	}
}
