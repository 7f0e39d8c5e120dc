package graph_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/kvsuite/kv/kvgraph"
)

// org adds a small reporting hierarchy: ceo <- vp1, vp2 <- dev1, dev2.
func org(ctx context.Context, g *kvgraph.Graph) {
	emp := func(id string) kvgraph.NodeRef { return kvgraph.NewNodeRef(id, "Employee") }
	reports := func(a, b string) kvgraph.Edge { return kvgraph.NewEdge(emp(a), emp(b), "reports_to", nil) }
	if err := g.AddEdges(ctx,
		reports("vp1", "ceo"), reports("vp2", "ceo"),
		reports("dev1", "vp1"), reports("dev2", "vp1"), reports("dev3", "vp2"),
	); err != nil {
		log.Fatal(err)
	}
}

// Example_bfs walks the graph breadth first, against the edges' direction:
// one query per depth, never one per node.
func Example_bfs() {
	_, g, done := openGraph()
	defer done()
	ctx := context.Background()
	org(ctx, g)

	ceo := kvgraph.NewNodeRef("ceo", "Employee")
	for v, err := range g.BFS(ctx, ceo, kvgraph.TraversalOptions{Direction: kvgraph.In, EdgeTypes: []string{"reports_to"}}) {
		if err != nil {
			log.Fatal(err)
		}
		if v.Depth == 0 {
			fmt.Println(0, v.Node.ID)
			continue
		}
		fmt.Println(v.Depth, v.Node.ID, "via", v.Parent.ID)
	}
	// Output:
	// 0 ceo
	// 1 vp1 via ceo
	// 1 vp2 via ceo
	// 2 dev1 via vp1
	// 2 dev2 via vp1
	// 2 dev3 via vp2
}

// Example_kHop lists the nodes within k hops, whichever way the edges point.
func Example_kHop() {
	_, g, done := openGraph()
	defer done()
	ctx := context.Background()
	org(ctx, g)

	dev1 := kvgraph.NewNodeRef("dev1", "Employee")
	near, err := g.KHop(ctx, dev1, 2, kvgraph.TraversalOptions{Direction: kvgraph.Both})
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range near {
		fmt.Println(v.Node.ID, v.Depth)
	}
	// Output:
	// vp1 1
	// ceo 2
	// dev2 2
}

// Example_dot writes a node's neighbourhood as Graphviz DOT
// (kvgraph.RenderDOT turns it into SVG or PNG when Graphviz is installed).
func Example_dot() {
	_, g, done := openGraph()
	defer done()
	ctx := context.Background()
	org(ctx, g)

	sub, err := g.Subgraph(ctx, kvgraph.ViewOptions{NodeType: "Employee", NodeID: "vp2", Depth: 1})
	if err != nil {
		log.Fatal(err)
	}
	if err := sub.WriteDOT(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// digraph G {
	//   rankdir=LR;
	//   node [shape=box, style=rounded];
	//   n0 [label="Employee:ceo"];
	//   n1 [label="Employee:dev3"];
	//   n2 [label="Employee:vp2"];
	//   n1 -> n2 [label="reports_to"];
	//   n2 -> n0 [label="reports_to"];
	// }
}
