package integration_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvgraph"
)

// Benchmarks on a generated graph of 10,000 nodes and 50,000 random edges
// (average out-degree 5), built once per backend (SQLite and PostgreSQL)
// with AddEdges in batches of 1,000 edges. Each traversal is measured
// three ways in the same run:
//
//	frontier        kvgraph: a whole frontier per GetBatch (ShortestPath is
//	                bidirectional; KHop is BFS)
//	frontier-1way   kvgraph's one-directional BFS until the target (batching
//	                without the bidirectional search)
//	per-node        the baseline: one GetPrefix query per expanded node
//
// queries/op is the number of store queries per operation.
//
//	go test -run '^$' -bench 'ShortestPath|KHop2|AddEdges' -benchtime 20x
//
// The graph's build time (50,000 edges) is logged with -v.

const (
	benchNodes = 10_000
	benchEdges = 50_000
	benchBatch = 1_000
)

type queryCounter struct {
	driver.Store
	n *atomic.Int64
}

func (c queryCounter) Query(ctx context.Context, sel driver.Selector, now time.Time) ([]driver.Record, error) {
	c.n.Add(1)
	return c.Store.Query(ctx, sel, now)
}

type benchGraph struct {
	g       *kvgraph.Graph
	queries *atomic.Int64
	build   time.Duration
	pairs   [][2]kvgraph.NodeRef
}

var (
	benchMu     sync.Mutex
	benchGraphs = map[string]*benchGraph{}
)

func benchNode(i int) kvgraph.NodeRef { return kvgraph.NewNodeRef(fmt.Sprintf("u%05d", i), "User") }

func benchEdgeList() []kvgraph.Edge {
	r := rand.New(rand.NewPCG(42, 42))
	seen := map[[2]int]bool{}
	edges := make([]kvgraph.Edge, 0, benchEdges)
	for len(edges) < benchEdges {
		a, b := r.IntN(benchNodes), r.IntN(benchNodes)
		if a == b || seen[[2]int{a, b}] {
			continue
		}
		seen[[2]int{a, b}] = true
		edges = append(edges, kvgraph.NewEdge(benchNode(a), benchNode(b), "follows", nil))
	}
	return edges
}

// getBenchGraph builds (once) the benchmark graph on a place of the backend.
func getBenchGraph(b *testing.B, be backend) *benchGraph {
	benchMu.Lock()
	defer benchMu.Unlock()
	if bg, ok := benchGraphs[be.name]; ok {
		return bg
	}
	// The store must outlive this benchmark: it is kept for the others.
	keep := keepAlive{TB: b}
	o := openT(keep, be.newPlace(keep))
	n := &atomic.Int64{}
	s, err := kvcore.New(queryCounter{o.store.Driver(), n}, kvcore.WithSweepInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	g, err := kvgraph.New(s)
	if err != nil {
		b.Fatal(err)
	}
	edges := benchEdgeList()
	start := time.Now()
	for i := 0; i < len(edges); i += benchBatch {
		if err := g.AddEdges(context.Background(), edges[i:min(i+benchBatch, len(edges))]...); err != nil {
			b.Fatal(err)
		}
	}
	bg := &benchGraph{g: g, queries: n, build: time.Since(start)}
	afterBuild(b, o)
	b.Logf("%s: built %d edges in %v (%.0f edges/s)", be.name, len(edges), bg.build.Round(time.Millisecond), float64(len(edges))/bg.build.Seconds())
	r := rand.New(rand.NewPCG(7, 7))
	for range 64 {
		bg.pairs = append(bg.pairs, [2]kvgraph.NodeRef{benchNode(r.IntN(benchNodes)), benchNode(r.IntN(benchNodes))})
	}
	benchGraphs[be.name] = bg
	return bg
}

// keepAlive is a testing.TB whose cleanups run when the tests have ended
// (see atExit), so the benchmark graphs outlive a single benchmark.
type keepAlive struct{ testing.TB }

func (keepAlive) Cleanup(f func()) { atExit(f) }

func (k keepAlive) TempDir() string {
	dir, err := os.MkdirTemp("", "kvgraph-bench-")
	if err != nil {
		k.Fatal(err)
	}
	atExit(func() { _ = os.RemoveAll(dir) })
	return dir
}

// graphBenchBackends are the backends the graph benchmarks run on.
func graphBenchBackends() []backend {
	var bs []backend
	for _, be := range backends {
		if be.name == "sqlite" || be.name == "postgres" {
			bs = append(bs, be)
		}
	}
	return bs
}

// afterBuild brings the planner statistics up to date after the bulk load,
// as autovacuum would shortly after on a live server (PostgreSQL plans a
// freshly filled table as if it were empty).
func afterBuild(b *testing.B, o *opened) {
	pg, ok := o.db.(*postgreskv.DB)
	if !ok {
		return
	}
	if _, err := pg.Pool().Exec(context.Background(), "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

// baselinePath is BFS with one GetPrefix query per expanded node.
func baselinePath(ctx context.Context, g *kvgraph.Graph, from, to kvgraph.NodeRef, maxDepth int) (int, bool, error) {
	if from == to {
		return 0, true, nil
	}
	visited := map[kvgraph.NodeRef]bool{from: true}
	frontier := []kvgraph.NodeRef{from}
	for depth := 1; len(frontier) > 0 && (maxDepth == 0 || depth <= maxDepth); depth++ {
		var next []kvgraph.NodeRef
		for _, n := range frontier {
			edges, err := g.ListOutgoing(ctx, n, "", 0, 0)
			if err != nil {
				return 0, false, err
			}
			for _, e := range edges {
				if e.To == to {
					return depth, true, nil
				}
				if !visited[e.To] {
					visited[e.To] = true
					next = append(next, e.To)
				}
			}
		}
		frontier = next
	}
	return 0, false, nil
}

// baselineKHop counts the nodes within k hops, one query per node.
func baselineKHop(ctx context.Context, g *kvgraph.Graph, from kvgraph.NodeRef, k int) (int, error) {
	visited := map[kvgraph.NodeRef]bool{from: true}
	frontier := []kvgraph.NodeRef{from}
	for depth := 1; depth <= k; depth++ {
		var next []kvgraph.NodeRef
		for _, n := range frontier {
			edges, err := g.ListOutgoing(ctx, n, "", 0, 0)
			if err != nil {
				return 0, err
			}
			for _, e := range edges {
				if !visited[e.To] {
					visited[e.To] = true
					next = append(next, e.To)
				}
			}
		}
		frontier = next
	}
	return len(visited) - 1, nil
}

func oneWayPath(ctx context.Context, g *kvgraph.Graph, from, to kvgraph.NodeRef) (int, bool, error) {
	for v, err := range g.BFS(ctx, from, kvgraph.TraversalOptions{}) {
		if err != nil {
			return 0, false, err
		}
		if v.Node == to {
			return v.Depth, true, nil
		}
	}
	return 0, false, nil
}

func BenchmarkShortestPath(b *testing.B) {
	ctx := context.Background()
	for _, be := range graphBenchBackends() {
		b.Run(be.name, func(b *testing.B) {
			bg := getBenchGraph(b, be)
			// All three must agree on every pair.
			for _, p := range bg.pairs[:8] {
				path, ok1, err := bg.g.ShortestPath(ctx, p[0], p[1], kvgraph.TraversalOptions{})
				if err != nil {
					b.Fatal(err)
				}
				d2, ok2, err := baselinePath(ctx, bg.g, p[0], p[1], 0)
				if err != nil {
					b.Fatal(err)
				}
				d3, ok3, err := oneWayPath(ctx, bg.g, p[0], p[1])
				if err != nil {
					b.Fatal(err)
				}
				if ok1 != ok2 || ok2 != ok3 || (ok1 && (path.Len() != d2 || d2 != d3)) {
					b.Fatalf("%v->%v: %v/%d, baseline %v/%d, one-way %v/%d", p[0], p[1], ok1, path.Len(), ok2, d2, ok3, d3)
				}
			}
			run := func(name string, f func(from, to kvgraph.NodeRef) error) {
				b.Run(name, func(b *testing.B) {
					bg.queries.Store(0)
					i := 0
					for b.Loop() {
						p := bg.pairs[i%len(bg.pairs)]
						i++
						if err := f(p[0], p[1]); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(bg.queries.Load())/float64(i), "queries/op")
				})
			}
			run("frontier", func(from, to kvgraph.NodeRef) error {
				_, _, err := bg.g.ShortestPath(ctx, from, to, kvgraph.TraversalOptions{})
				return err
			})
			run("frontier-1way", func(from, to kvgraph.NodeRef) error {
				_, _, err := oneWayPath(ctx, bg.g, from, to)
				return err
			})
			run("per-node", func(from, to kvgraph.NodeRef) error {
				_, _, err := baselinePath(ctx, bg.g, from, to, 0)
				return err
			})
		})
	}
}

func BenchmarkKHop2(b *testing.B) {
	ctx := context.Background()
	for _, be := range graphBenchBackends() {
		b.Run(be.name, func(b *testing.B) {
			bg := getBenchGraph(b, be)
			for _, p := range bg.pairs[:8] {
				k, err := bg.g.KHop(ctx, p[0], 2, kvgraph.TraversalOptions{})
				if err != nil {
					b.Fatal(err)
				}
				n, err := baselineKHop(ctx, bg.g, p[0], 2)
				if err != nil {
					b.Fatal(err)
				}
				if len(k) != n {
					b.Fatalf("2-hop of %v: %d, baseline %d", p[0], len(k), n)
				}
			}
			run := func(name string, f func(from kvgraph.NodeRef) error) {
				b.Run(name, func(b *testing.B) {
					bg.queries.Store(0)
					i := 0
					for b.Loop() {
						p := bg.pairs[i%len(bg.pairs)]
						i++
						if err := f(p[0]); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(bg.queries.Load())/float64(i), "queries/op")
				})
			}
			run("frontier", func(from kvgraph.NodeRef) error {
				_, err := bg.g.KHop(ctx, from, 2, kvgraph.TraversalOptions{})
				return err
			})
			run("per-node", func(from kvgraph.NodeRef) error {
				_, err := baselineKHop(ctx, bg.g, from, 2)
				return err
			})
		})
	}
}

// BenchmarkAddEdges measures AddEdges of 1,000 new edges (one MutateAll)
// into a graph that grows by 1,000 edges per iteration.
func BenchmarkAddEdges(b *testing.B) {
	edges := benchEdgeList()
	for _, be := range graphBenchBackends() {
		b.Run(be.name, func(b *testing.B) {
			g, err := kvgraph.New(openT(b, be.newPlace(b)).store)
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				start := (i * benchBatch) % len(edges)
				i++
				if err := g.AddEdges(context.Background(), edges[start:start+benchBatch]...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(i*benchBatch)/b.Elapsed().Seconds(), "edges/s")
		})
	}
}
