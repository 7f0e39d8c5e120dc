package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/kvsuite/kv/examples/internal/exampledb"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
)

// openGraph returns a store on a database in a temporary file, with kv's
// schema, and a graph on it.
func openGraph() (*kvcore.Store, *kvgraph.Graph, func()) {
	db, closeDB, err := exampledb.Open(context.Background(), "")
	if err != nil {
		log.Fatal(err)
	}
	store, err := db.Store()
	if err != nil {
		log.Fatal(err)
	}
	g, err := kvgraph.New(store)
	if err != nil {
		log.Fatal(err)
	}
	return store, g, func() { store.Close(); closeDB() }
}

// Example_socialGraph builds a small social graph next to the user's own
// records, queries it and finds a path.
func Example_socialGraph() {
	store, g, done := openGraph()
	defer done()
	ctx := context.Background()

	// The entities are the user's records; the graph links them.
	_ = store.Put(ctx, "user/alice", -1, map[string]string{"name": "Alice"})
	_ = store.Put(ctx, "user/bob", -1, map[string]string{"name": "Bob"})

	alice := kvgraph.NewNodeRef("alice", "User")
	bob := kvgraph.NewNodeRef("bob", "User")
	charlie := kvgraph.NewNodeRef("charlie", "User")
	post := kvgraph.NewNodeRef("1", "Post")
	err := g.AddEdges(ctx,
		kvgraph.NewEdge(alice, bob, "follows", json.RawMessage(`{"since": "2024-01-01"}`)),
		kvgraph.NewEdge(bob, charlie, "follows", nil),
		kvgraph.NewEdge(charlie, post, "authored", nil),
		kvgraph.NewEdge(alice, post, "liked", nil),
	)
	if err != nil {
		log.Fatal(err)
	}

	for edge, err := range g.GetOutgoing(ctx, alice, "follows") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("alice follows %s since %s\n", edge.To.ID, edge.Properties)
	}
	for edge, err := range g.GetIncoming(ctx, post) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %s post 1\n", edge.From.ID, edge.Type)
	}

	path, found, err := g.FindShortestPath(ctx, alice, post, "follows", "authored")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("found:", found, "hops:", path.Len())
	for _, n := range path.Nodes {
		fmt.Println(" ", n)
	}

	// The user's namespace holds only the user's records.
	n, _ := store.Count(ctx)
	fmt.Println("user records:", n)
	// Output:
	// alice follows bob since {"since":"2024-01-01"}
	// charlie authored post 1
	// alice liked post 1
	// found: true hops: 3
	//   User:alice
	//   User:bob
	//   User:charlie
	//   Post:1
	// user records: 2
}

// Example_weightedPath finds the cheapest route by an edge property.
func Example_weightedPath() {
	_, g, done := openGraph()
	defer done()
	ctx := context.Background()
	city := func(id string) kvgraph.NodeRef { return kvgraph.NewNodeRef(id, "City") }
	road := func(a, b string, km int) kvgraph.Edge {
		return kvgraph.NewEdge(city(a), city(b), "road", json.RawMessage(fmt.Sprintf(`{"km":%d}`, km)))
	}
	if err := g.AddEdges(ctx, road("A", "D", 100), road("A", "B", 20), road("B", "C", 30), road("C", "D", 25)); err != nil {
		log.Fatal(err)
	}
	p, found, err := g.WeightedShortestPath(ctx, city("A"), city("D"), kvgraph.WeightOptions{Property: "km"}, kvgraph.TraversalOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(found, p.Cost, p.Nodes)
	// Output: true 75 [City:A City:B City:C City:D]
}

// Example_view writes a node's neighbourhood as Mermaid.
func Example_view() {
	_, g, done := openGraph()
	defer done()
	ctx := context.Background()
	alice, bob := kvgraph.NewNodeRef("alice", "User"), kvgraph.NewNodeRef("bob", "User")
	_ = g.AddEdge(ctx, kvgraph.NewEdge(alice, bob, "follows", json.RawMessage(`{"note":"says \"hi\""}`)))
	_ = g.AddEdge(ctx, kvgraph.NewEdge(bob, kvgraph.NewNodeRef("end", "graph"), "likes", nil))

	v, err := kvgraph.ParseViewNode("User", "alice")
	if err != nil {
		log.Fatal(err)
	}
	v.Depth = 2
	if err := g.View(ctx, os.Stdout, kvgraph.FormatMermaid, v); err != nil {
		log.Fatal(err)
	}
	// Output:
	// flowchart LR
	//   n0["User:alice"]
	//   n1["User:bob"]
	//   n2["graph:end"]
	//   n0 -->|"follows<br>{#quot;note#quot;:#quot;says \#quot;hi\#quot;#quot;}"| n1
	//   n1 -->|"likes"| n2
}
