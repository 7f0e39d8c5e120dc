package kvgraph_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestMain says up front which output checks will skip and why (the
// tests skip with the same reason). kvgraph's behaviour suite runs on
// every backend in the integration module; the examples that need a store
// are in examples/graph.
func TestMain(m *testing.M) {
	if _, err := exec.LookPath("dot"); err != nil {
		fmt.Println("kvgraph tests: SKIP the Graphviz checks: `dot` is not installed (apt-get install graphviz)")
	}
	if _, err := os.Stat(filepath.Join("testdata", "mermaid-check", "node_modules", "mermaid")); err != nil {
		fmt.Println("kvgraph tests: SKIP the Mermaid parser check: run `npm ci` in testdata/mermaid-check (needs node)")
	}
	os.Exit(m.Run())
}
