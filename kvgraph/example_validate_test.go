package kvgraph_test

import (
	"encoding/json"
	"fmt"

	"github.com/kvsuite/kv/kvgraph"
)

// ExampleValidateEdge checks edges before writing any, as an import does.
func ExampleValidateEdge() {
	alice, bob := kvgraph.NewNodeRef("alice", "User"), kvgraph.NewNodeRef("bob", "User")
	for _, e := range []kvgraph.Edge{
		kvgraph.NewEdge(alice, bob, "follows", json.RawMessage(`{"since":2024}`)),
		kvgraph.NewEdge(alice, bob, "follows", nil),
		kvgraph.NewEdge(alice, bob, "", nil),
		kvgraph.NewEdge(alice, bob, "rates", json.RawMessage(`[5]`)),
	} {
		fmt.Println(kvgraph.ValidateEdge(e))
	}
	// Output:
	// <nil>
	// <nil>
	// kvgraph: invalid argument: edge type is empty
	// kvgraph: invalid argument: edge properties must be a JSON object, got "[5]"
}
