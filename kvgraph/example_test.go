package kvgraph_test

import (
	"encoding/json"
	"log"
	"os"

	"github.com/kvsuite/kv/kvgraph"
)

// Edges written as Mermaid, which GitHub renders in Markdown. The
// examples that keep a graph in a store are in examples/graph.
func ExampleWriteMermaid() {
	alice, bob := kvgraph.NewNodeRef("alice", "User"), kvgraph.NewNodeRef("bob", "User")
	edges := []kvgraph.Edge{
		kvgraph.NewEdge(alice, bob, "follows", json.RawMessage(`{"since":2024}`)),
		kvgraph.NewEdge(bob, kvgraph.NewNodeRef("1", "Post"), "authored", nil),
	}
	if err := kvgraph.WriteMermaid(os.Stdout, edges); err != nil {
		log.Fatal(err)
	}
	// Output:
	// flowchart LR
	//   n0["Post:1"]
	//   n1["User:alice"]
	//   n2["User:bob"]
	//   n1 -->|"follows<br>{#quot;since#quot;:2024}"| n2
	//   n2 -->|"authored"| n0
}
