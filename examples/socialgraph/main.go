// Command socialgraph builds a small social graph with kvgraph: people are
// ordinary kv records, "follows" edges between them carry properties. It
// lists who follows whom, finds a shortest path and a 2-hop neighbourhood,
// and writes the graph as graph.dot (Graphviz) and graph.mmd (Mermaid, which
// GitHub renders in Markdown), plus graph.svg if Graphviz's dot is on PATH.
//
//	go run ./examples/socialgraph                  # files go to a new temporary directory
//	go run ./examples/socialgraph -out . -db social.db
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kvsuite/kv/examples/internal/exampledb"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "socialgraph:", err)
		os.Exit(1)
	}
}

// Person is the record kept for each person, beside the graph.
type Person struct {
	Name string `json:"name"`
	City string `json:"city"`
}

// follow is one "follows" edge of the example.
type follow struct {
	from, to string
	since    int
}

var (
	people = []struct {
		id string
		Person
	}{
		{"alice", Person{"Alice", "Paris"}}, {"bob", Person{"Bob", "Lyon"}}, {"carol", Person{"Carol", "Paris"}},
		{"dave", Person{"Dave", "Nantes"}}, {"erin", Person{"Erin", "Lille"}}, {"frank", Person{"Frank", "Lyon"}},
	}
	follows = []follow{
		{"alice", "bob", 2019}, {"alice", "carol", 2021}, {"bob", "dave", 2020},
		{"carol", "dave", 2022}, {"dave", "erin", 2023}, {"erin", "frank", 2024},
		{"frank", "alice", 2024},
	}
)

func person(id string) kvgraph.NodeRef { return kvgraph.NewNodeRef(id, "Person") }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("socialgraph", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	dbPath := fs.String("db", "", "SQLite database file (default: a temporary file removed at exit)")
	outDir := fs.String("out", "", "directory for graph.dot, graph.mmd and graph.svg (default: a new temporary directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	dir := *outDir
	if dir == "" {
		d, err := os.MkdirTemp("", "kv-socialgraph-")
		if err != nil {
			return err
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	db, closeDB, err := exampledb.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer closeDB()
	store, err := db.Store()
	if err != nil {
		return err
	}
	defer store.Close()
	g, err := kvgraph.New(store) // the edges go to the store's "kvgraph" namespace
	if err != nil {
		return err
	}
	if err := load(ctx, store, g); err != nil {
		return err
	}

	// Outgoing and incoming edges, in a stable order.
	fmt.Fprintln(stdout, "alice follows:")
	for e, err := range g.GetOutgoing(ctx, person("alice"), "follows") {
		if err != nil {
			return err
		}
		var p struct{ Since int }
		if err := json.Unmarshal(e.Properties, &p); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %s (since %d)\n", e.To.ID, p.Since)
	}
	fmt.Fprintln(stdout, "dave's followers:")
	for e, err := range g.GetIncoming(ctx, person("dave"), "follows") {
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %s\n", e.From.ID)
	}

	// A shortest path: each round of the search reads a whole frontier.
	path, found, err := g.FindShortestPath(ctx, person("alice"), person("frank"), "follows")
	if err != nil {
		return err
	}
	if !found {
		return errors.New("no path from alice to frank")
	}
	fmt.Fprintf(stdout, "shortest path alice -> frank (%d hops):", path.Len())
	for _, n := range path.Nodes {
		fmt.Fprintf(stdout, " %s", n.ID)
	}
	fmt.Fprintln(stdout)

	// Everyone within two hops, with the people records looked up in one query.
	visits, err := g.KHop(ctx, person("alice"), 2, kvgraph.TraversalOptions{EdgeTypes: []string{"follows"}})
	if err != nil {
		return err
	}
	keys := make([]string, len(visits))
	for i, v := range visits {
		keys[i] = "person/" + v.Node.ID
	}
	recs, err := store.GetBatch(ctx, keys...)
	if err != nil {
		return err
	}
	byKey := kvcore.RecordsOf(recs)
	fmt.Fprintln(stdout, "within 2 hops of alice:")
	for _, v := range visits {
		p, err := kvcore.ValueOf[Person](byKey["person/"+v.Node.ID])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %s in %s, %d hop(s), via %s\n", p.Name, p.City, v.Depth, v.Parent.ID)
	}

	return writePictures(ctx, g, dir, stdout)
}

// load stores the people and the edges (in one transaction).
func load(ctx context.Context, store *kvcore.Store, g *kvgraph.Graph) error {
	typed := kvcore.NewTyped[Person](store)
	for _, p := range people {
		if err := typed.Put(ctx, "person/"+p.id, -1, p.Person); err != nil {
			return err
		}
	}
	edges := make([]kvgraph.Edge, len(follows))
	for i, f := range follows {
		props := json.RawMessage(fmt.Sprintf(`{"since":%d}`, f.since))
		edges[i] = kvgraph.NewEdge(person(f.from), person(f.to), "follows", props)
	}
	return g.AddEdges(ctx, edges...) // adding an existing edge updates its properties
}

// writePictures writes the whole graph as DOT and Mermaid, and as SVG when
// Graphviz is installed.
func writePictures(ctx context.Context, g *kvgraph.Graph, dir string, stdout io.Writer) error {
	sub, err := g.Subgraph(ctx, kvgraph.ViewOptions{}) // the whole graph
	if err != nil {
		return err
	}
	var dot, mmd bytes.Buffer
	if err := sub.WriteDOT(&dot); err != nil {
		return err
	}
	if err := sub.WriteMermaid(&mmd); err != nil {
		return err
	}
	files := map[string][]byte{"graph.dot": dot.Bytes(), "graph.mmd": mmd.Bytes()}
	var svg bytes.Buffer
	switch err := kvgraph.RenderDOT(ctx, &svg, bytes.NewReader(dot.Bytes()), "svg"); {
	case errors.Is(err, kvgraph.ErrGraphvizNotFound):
		fmt.Fprintln(stdout, "Graphviz's dot is not on PATH: no graph.svg (apt-get install graphviz)")
	case err != nil:
		return err
	default:
		files["graph.svg"] = svg.Bytes()
	}
	for _, name := range []string{"graph.dot", "graph.mmd", "graph.svg"} {
		data, ok := files[name]
		if !ok {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", name)
	}
	fmt.Fprintf(stdout, "in %s\n", dir)
	return nil
}
