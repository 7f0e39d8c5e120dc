// Package kvgraphtest is kvgraph's behaviour suite. A backend (including a
// third-party one) runs it from its tests:
//
//	func TestGraph(t *testing.T) {
//		kvgraphtest.Run(t, func(t *testing.T) *kvcore.Store { ... })
//	}
//
// newStore must return an initialised store that no other test uses: a
// database of its own, or a namespace of its own on a shared database.
// The suite keeps the user's records in the store's namespace and its
// graphs in namespaces of their own: kvgraph's default ones on a store in
// the default namespace, else ones named after the store's namespace, so
// that tests sharing a database keep apart. The suite wraps its driver to
// count queries, so it can check that traversals read a whole frontier per
// query rather than a query per node.
package kvgraphtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvgraph"
)

// Run runs every kvgraph test against stores from newStore.
func Run(t *testing.T, newStore func(t *testing.T) *kvcore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"AddGetEdge", testAddGetEdge},
		{"InvalidInput", testInvalidInput},
		{"Escaping", testEscaping},
		{"NamespaceIsolation", testNamespaceIsolation},
		{"OutgoingIncoming", testOutgoingIncoming},
		{"RemoveEdge", testRemoveEdge},
		{"RemoveNode", testRemoveNode},
		{"AddEdgesAtomic", testAddEdgesAtomic},
		{"ConcurrentWrites", testConcurrentWrites},
		{"BFS", testBFS},
		{"BFSReadsWholeFrontier", testBFSQueries},
		{"ShortestPath", testShortestPath},
		{"ShortestPathSharedPrefixes", testSharedPrefixes},
		{"ShortestPathRandom", testShortestPathRandom},
		{"WeightedShortestPath", testWeighted},
		{"WeightedRandom", testWeightedRandom},
		{"KHop", testKHop},
		{"Subgraph", testSubgraph},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newHarness(t, newStore))
		})
	}
}

// harness is one test's graph on a fresh store, with a query counter.
type harness struct {
	store   *kvcore.Store // the user's namespace
	g       *kvgraph.Graph
	queries *atomic.Int64
	now     time.Time
	mu      sync.Mutex
}

// counter counts the driver's Query calls.
type counter struct {
	driver.Store
	n *atomic.Int64
}

func (c counter) Query(ctx context.Context, sel driver.Selector, now time.Time) ([]driver.Record, error) {
	c.n.Add(1)
	return c.Store.Query(ctx, sel, now)
}

func newHarness(t *testing.T, newStore func(t *testing.T) *kvcore.Store) *harness {
	t.Helper()
	base := newStore(t)
	h := &harness{queries: &atomic.Int64{}, now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	opts := []kvcore.Option{kvcore.WithSweepInterval(0), kvcore.WithClock(h.clock)}
	if ns := base.NamespaceName(); ns != "" {
		opts = append(opts, kvcore.WithNamespace(ns))
	}
	s, err := kvcore.New(counter{base.Driver(), h.queries}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	h.store = s
	h.g = h.graph(t, kvgraph.DefaultNamespace)
	return h
}

// graphNamespace is the namespace the test's graph called name lives in:
// name itself when the user's store is in the default namespace, else
// name after the store's namespace.
func (h *harness) graphNamespace(name string) string {
	if ns := h.store.NamespaceName(); ns != "" {
		return ns + "." + name
	}
	return name
}

// graph returns the test's graph called name (kvgraph.New's own default
// when name is kvgraph.DefaultNamespace and the store is in the default
// namespace), with opts.
func (h *harness) graph(t *testing.T, name string, opts ...kvgraph.Option) *kvgraph.Graph {
	t.Helper()
	if ns := h.graphNamespace(name); ns != kvgraph.DefaultNamespace {
		opts = append([]kvgraph.Option{kvgraph.WithNamespace(ns)}, opts...)
	}
	g, err := kvgraph.New(h.store, opts...)
	must(t, err)
	return g
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

var ctx = context.Background()

func n(typ, id string) kvgraph.NodeRef { return kvgraph.NewNodeRef(id, typ) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (h *harness) add(t *testing.T, edges ...kvgraph.Edge) {
	t.Helper()
	must(t, h.g.AddEdges(ctx, edges...))
}

func e(from, to kvgraph.NodeRef, typ string, props string) kvgraph.Edge {
	var p json.RawMessage
	if props != "" {
		p = json.RawMessage(props)
	}
	return kvgraph.NewEdge(from, to, typ, p)
}

func collect(t *testing.T, seq func(yield func(kvgraph.Edge, error) bool)) []kvgraph.Edge {
	t.Helper()
	var out []kvgraph.Edge
	for e, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// names renders edges as "from -type-> to" for comparison.
func names(edges []kvgraph.Edge) []string {
	out := make([]string, len(edges))
	for i, e := range edges {
		out[i] = fmt.Sprintf("%s -%s-> %s", e.From, e.Type, e.To)
	}
	return out
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func testAddGetEdge(t *testing.T, h *harness) {
	alice, bob := n("User", "alice"), n("User", "bob")
	h.add(t, e(alice, bob, "follows", `{ "since": "2024-01-01", "n": 12345678901234567890 }`))
	got, ok, err := h.g.GetEdge(ctx, alice, "follows", bob)
	must(t, err)
	if !ok {
		t.Fatal("edge not found")
	}
	equal(t, "edge", names([]kvgraph.Edge{got}), []string{"User:alice -follows-> User:bob"})
	equal(t, "properties", string(got.Properties), `{"since":"2024-01-01","n":12345678901234567890}`)
	if !got.Created.Equal(h.clock()) || !got.Updated.Equal(h.clock()) || got.Created.Location() != time.UTC {
		t.Fatalf("times: created %v updated %v, want %v UTC", got.Created, got.Updated, h.clock())
	}
	created := got.Created

	// Adding it again replaces the properties and keeps Created.
	h.advance(time.Hour)
	h.add(t, e(alice, bob, "follows", `{"since":"2025"}`))
	got, ok, err = h.g.GetEdge(ctx, alice, "follows", bob)
	must(t, err)
	if !ok || string(got.Properties) != `{"since":"2025"}` || !got.Created.Equal(created) || !got.Updated.Equal(h.clock()) {
		t.Fatalf("after replace: %+v (ok %v)", got, ok)
	}
	// The same edge from the other side.
	in := collect(t, h.g.GetIncoming(ctx, bob))
	if len(in) != 1 || string(in[0].Properties) != `{"since":"2025"}` || !in[0].Created.Equal(created) {
		t.Fatalf("incoming: %+v", in)
	}

	// No properties: {}.
	h.add(t, e(bob, alice, "follows", ""))
	got, _, err = h.g.GetEdge(ctx, bob, "follows", alice)
	must(t, err)
	equal(t, "empty properties", string(got.Properties), "{}")

	// Missing edges, other type, reversed.
	for _, q := range [][3]any{{alice, "likes", bob}, {n("User", "carol"), "follows", bob}} {
		_, ok, err := h.g.GetEdge(ctx, q[0].(kvgraph.NodeRef), q[1].(string), q[2].(kvgraph.NodeRef))
		must(t, err)
		if ok {
			t.Fatalf("found %v", q)
		}
	}
	c, err := h.g.CountEdges(ctx)
	must(t, err)
	equal(t, "count", c, 2)
}

func testInvalidInput(t *testing.T, h *harness) {
	a, b := n("User", "a"), n("User", "b")
	long := strings.Repeat("x", kvgraph.MaxNameLen+1)
	bad := []kvgraph.Edge{
		e(n("", "a"), b, "t", ""),
		e(n("User", ""), b, "t", ""),
		e(a, n("", "b"), "t", ""),
		e(a, b, "", ""),
		e(a, b, "t", `[1,2]`),
		e(a, b, "t", `"text"`),
		e(a, b, "t", `{"a":`),
		e(a, b, "t\x00", ""),
		e(a, n("User", "bad\xffutf8"), "t", ""),
		e(a, n("User", long), "t", ""),
		e(a, n("User", strings.Repeat("/", kvgraph.MaxNameLen/3+1)), "t", ""),
	}
	for i, x := range bad {
		err := h.g.AddEdge(ctx, x)
		if !errors.Is(err, kvcore.ErrInvalidArgument) {
			t.Fatalf("bad edge %d: got %v, want ErrInvalidArgument", i, err)
		}
	}
	// The longest names are accepted.
	max := strings.Repeat("é", kvgraph.MaxNameLen/2)
	h.add(t, e(n(max, max), n(max, max), max, ""))
	if _, _, err := h.g.GetEdge(ctx, a, "", b); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Fatalf("GetEdge with empty type: %v", err)
	}
	if _, err := h.g.ListOutgoing(ctx, a, "", -1, 0); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Fatalf("negative offset: %v", err)
	}
	if _, err := h.g.ListOutgoing(ctx, a, "", 0, -1); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Fatalf("negative limit: %v", err)
	}
	for _, o := range []kvgraph.TraversalOptions{{MaxDepth: -1}, {MaxNodes: -1}, {Direction: 7}, {EdgeTypes: []string{"ok", "bad\x00"}}} {
		for _, err := range h.g.BFS(ctx, a, o) {
			if !errors.Is(err, kvcore.ErrInvalidArgument) {
				t.Fatalf("BFS %+v: %v", o, err)
			}
			break
		}
		if _, _, err := h.g.ShortestPath(ctx, a, b, o); !errors.Is(err, kvcore.ErrInvalidArgument) {
			t.Fatalf("ShortestPath %+v: %v", o, err)
		}
	}
	if _, err := h.g.KHop(ctx, a, -1, kvgraph.TraversalOptions{}); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Fatalf("KHop -1: %v", err)
	}
	if _, err := kvgraph.New(nil); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Fatalf("New(nil): %v", err)
	}
	if _, err := kvgraph.New(h.store, kvgraph.WithNamespace("")); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Fatalf("empty namespace: %v", err)
	}
	// Only the one good edge was written.
	c, err := h.g.CountEdges(ctx)
	must(t, err)
	equal(t, "edges after bad input", c, 1)
}

func testEscaping(t *testing.T, h *harness) {
	// Names that a naive key layout confuses.
	nodes := []kvgraph.NodeRef{
		n("User", "alice"), n("Users", "alice"), n("User", "alice/x"), n("User/alice", "x"),
		n("a", "b/c"), n("a/b", "c"), n("A%2F", "x"), n("A/", "x"), n("A%", "2Fx"),
		n("Us er", "名前 ü"), n("User", "%25"), n("User", "%"), n("User", "a b"), n("🙂", "\n\t\"'\\"),
	}
	for i, from := range nodes {
		h.add(t, e(from, nodes[(i+1)%len(nodes)], "rel/type %", fmt.Sprintf(`{"i":%d}`, i)))
	}
	for i, from := range nodes {
		to := nodes[(i+1)%len(nodes)]
		got, ok, err := h.g.GetEdge(ctx, from, "rel/type %", to)
		must(t, err)
		if !ok || got.From != from || got.To != to || string(got.Properties) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("edge %d: %+v %v", i, got, ok)
		}
		out := collect(t, h.g.GetOutgoing(ctx, from))
		if len(out) != 1 || out[0].To != to {
			t.Fatalf("outgoing of %q: %v", from, names(out))
		}
		in := collect(t, h.g.GetIncoming(ctx, to))
		if len(in) != 1 || in[0].From != from {
			t.Fatalf("incoming of %q: %v", to, names(in))
		}
		d, err := h.g.OutDegree(ctx, from, "")
		must(t, err)
		equal(t, "degree of "+from.String(), d, 1)
	}
	// A prefix of a type does not match a longer type.
	d, err := h.g.OutDegree(ctx, n("User", "alice"), "rel")
	must(t, err)
	equal(t, "prefix type", d, 0)
	from := collect(t, h.g.AllFromType(ctx, "User"))
	equal(t, "edges from User nodes", len(from), 5)
	// Traversal follows the ring all the way round.
	var got []kvgraph.NodeRef
	for v, err := range h.g.BFS(ctx, nodes[0], kvgraph.TraversalOptions{}) {
		must(t, err)
		got = append(got, v.Node)
	}
	equal(t, "ring", got, nodes)
	p, ok, err := h.g.FindShortestPath(ctx, nodes[3], nodes[2], "rel/type %")
	must(t, err)
	if !ok || p.Len() != len(nodes)-1 {
		t.Fatalf("ring path: %v %d", ok, p.Len())
	}
}

func testNamespaceIsolation(t *testing.T, h *harness) {
	must(t, h.store.Put(ctx, "user/alice", -1, map[string]string{"name": "Alice"}))
	h.add(t, e(n("User", "alice"), n("User", "bob"), "follows", ""))
	recs, err := h.store.List(ctx, 0, 0)
	must(t, err)
	if len(recs) != 1 || recs[0].Key != "user/alice" {
		t.Fatalf("the user's namespace shows graph records: %+v", recs)
	}
	def, err := kvgraph.New(h.store)
	must(t, err)
	if def.Store().NamespaceName() != kvgraph.DefaultNamespace {
		t.Fatalf("default namespace %q", def.Store().NamespaceName())
	}
	if ns := h.g.Store().NamespaceName(); ns != h.graphNamespace(kvgraph.DefaultNamespace) {
		t.Fatalf("namespace %q", ns)
	}
	other := h.graph(t, "other-graph")
	c, err := other.CountEdges(ctx)
	must(t, err)
	equal(t, "edges in another graph", c, 0)
	must(t, other.AddEdge(ctx, e(n("User", "x"), n("User", "y"), "t", "")))
	c, err = h.g.CountEdges(ctx)
	must(t, err)
	equal(t, "edges in the first graph", c, 1)
}

func testOutgoingIncoming(t *testing.T, h *harness) {
	hub := n("User", "hub")
	var edges []kvgraph.Edge
	// 300 follows (crosses the iterators' page size), 20 likes, 5 blocks.
	for i := range 300 {
		edges = append(edges, e(hub, n("User", fmt.Sprintf("u%03d", i)), "follows", ""))
	}
	for i := range 20 {
		edges = append(edges, e(hub, n("Post", fmt.Sprintf("p%02d", i)), "likes", ""))
		edges = append(edges, e(n("User", fmt.Sprintf("f%02d", i)), hub, "follows", ""))
	}
	for i := range 5 {
		edges = append(edges, e(hub, n("User", fmt.Sprintf("b%d", i)), "blocks", ""))
	}
	h.add(t, edges...)

	all := collect(t, h.g.GetOutgoing(ctx, hub))
	equal(t, "all outgoing", len(all), 325)
	// Ordered by edge type, then target type and id.
	keys := make([]string, len(all))
	for i, x := range all {
		keys[i] = x.Type + "/" + x.To.Type + "/" + x.To.ID
	}
	if !sort.StringsAreSorted(keys) {
		t.Fatalf("outgoing not in order: %v", keys[:10])
	}
	if all[0].Type != "blocks" || all[5].Type != "follows" || all[305].Type != "likes" {
		t.Fatalf("order of types: %v %v %v", all[0].Type, all[5].Type, all[305].Type)
	}
	follows := collect(t, h.g.GetOutgoing(ctx, hub, "follows"))
	equal(t, "follows", len(follows), 300)
	two := collect(t, h.g.GetOutgoing(ctx, hub, "likes", "blocks", "likes"))
	equal(t, "likes+blocks", len(two), 25)
	if two[0].Type != "blocks" || two[24].Type != "likes" {
		t.Fatalf("multi-type order: %v", names(two))
	}
	equal(t, "star", len(collect(t, h.g.GetOutgoing(ctx, hub, "*"))), 325)
	in := collect(t, h.g.GetIncoming(ctx, hub, "follows"))
	equal(t, "incoming", len(in), 20)
	equal(t, "incoming first", in[0].From, n("User", "f00"))

	// Paging.
	page, err := h.g.ListOutgoing(ctx, hub, "follows", 10, 5)
	must(t, err)
	equal(t, "page", names(page), names(follows[10:15]))
	page, err = h.g.ListOutgoing(ctx, hub, "", 320, 100)
	must(t, err)
	equal(t, "last page", names(page), names(all[320:]))
	page, err = h.g.ListIncoming(ctx, hub, "*", 0, 3)
	must(t, err)
	equal(t, "incoming page", names(page), names(in[:3]))
	page, err = h.g.ListOutgoing(ctx, n("User", "nobody"), "", 0, 0)
	must(t, err)
	equal(t, "nobody", len(page), 0)

	// Breaking out of an iterator stops it.
	count := 0
	for range h.g.GetOutgoing(ctx, hub) {
		count++
		if count == 3 {
			break
		}
	}
	equal(t, "early break", count, 3)

	for _, c := range []struct {
		f    func(context.Context, kvgraph.NodeRef, string) (int, error)
		typ  string
		want int
	}{{h.g.OutDegree, "", 325}, {h.g.OutDegree, "follows", 300}, {h.g.OutDegree, "*", 325}, {h.g.InDegree, "follows", 20}, {h.g.InDegree, "likes", 0}} {
		d, err := c.f(ctx, hub, c.typ)
		must(t, err)
		equal(t, "degree "+c.typ, d, c.want)
	}
	likes := collect(t, h.g.AllOfType(ctx, "likes"))
	equal(t, "all likes", len(likes), 20)
	equal(t, "all edges", len(collect(t, h.g.All(ctx))), 345)
}

func testRemoveEdge(t *testing.T, h *harness) {
	a, b, c := n("N", "a"), n("N", "b"), n("N", "c")
	h.add(t, e(a, b, "t", ""), e(b, c, "t", ""), e(a, b, "u", ""))
	remove := func(from kvgraph.NodeRef, edgeType string, to kvgraph.NodeRef, want bool) {
		t.Helper()
		removed, err := h.g.RemoveEdge(ctx, from, edgeType, to)
		must(t, err)
		equal(t, "removed "+from.String()+" -"+edgeType+"-> "+to.String(), removed, want)
	}
	remove(a, "t", b, true)
	if _, ok, _ := h.g.GetEdge(ctx, a, "t", b); ok {
		t.Fatal("edge still there")
	}
	equal(t, "incoming of b", names(collect(t, h.g.GetIncoming(ctx, b))), []string{"N:a -u-> N:b"})
	// Removing a missing edge is no error, reports false and changes nothing.
	remove(a, "t", b, false)
	remove(c, "t", a, false)
	_, ok, err := h.g.FindShortestPath(ctx, a, c, "t")
	must(t, err)
	if ok {
		t.Fatal("path through a removed edge")
	}
	p, ok, err := h.g.FindShortestPath(ctx, a, c)
	must(t, err)
	if !ok || p.Len() != 2 || p.Edges[0].Type != "u" {
		t.Fatalf("path via u: %v %+v", ok, p)
	}
	remove(a, "u", b, true)
	remove(b, "t", c, true)
	// Nothing is left in the graph's namespace.
	left, err := h.g.Store().Count(ctx)
	must(t, err)
	equal(t, "records left", left, 0)
	// Removers racing for one edge: exactly one of them removes it.
	h.add(t, e(a, b, "t", ""))
	const racers = 4
	var wg sync.WaitGroup
	var wins atomic.Int64
	errs := make(chan error, racers)
	for range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			removed, err := h.g.RemoveEdge(ctx, a, "t", b)
			if err != nil {
				errs <- err
			} else if removed {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	equal(t, "racers that removed the edge", wins.Load(), int64(1))
	// A bad argument is an error, and nothing was removed.
	if removed, err := h.g.RemoveEdge(ctx, a, "", b); !errors.Is(err, kvcore.ErrInvalidArgument) || removed {
		t.Fatalf("RemoveEdge with an empty edge type: %v, %v", removed, err)
	}
}

func testRemoveNode(t *testing.T, h *harness) {
	x := n("N", "x")
	others := []kvgraph.NodeRef{n("N", "a"), n("N", "b"), n("M", "c")}
	h.add(t,
		e(x, others[0], "t", ""), e(x, others[1], "t", ""), e(x, others[1], "u", ""),
		e(others[2], x, "t", ""), e(others[0], x, "u", ""), e(x, x, "self", ""),
		e(others[0], others[1], "t", ""), e(others[2], others[0], "t", ""),
	)
	removed, err := h.g.RemoveNode(ctx, x)
	must(t, err)
	equal(t, "removed", removed, 6)
	equal(t, "remaining", names(collect(t, h.g.All(ctx))), []string{"M:c -t-> N:a", "N:a -t-> N:b"})
	for _, o := range others {
		for _, seq := range []func(yield func(kvgraph.Edge, error) bool){h.g.GetOutgoing(ctx, o), h.g.GetIncoming(ctx, o)} {
			for _, ed := range collect(t, seq) {
				if ed.From == x || ed.To == x {
					t.Fatalf("edge of removed node left: %v", names([]kvgraph.Edge{ed}))
				}
			}
		}
	}
	// Traversals no longer reach x from anywhere.
	for v, err := range h.g.BFS(ctx, others[2], kvgraph.TraversalOptions{Direction: kvgraph.Both}) {
		must(t, err)
		if v.Node == x {
			t.Fatal("BFS reached the removed node")
		}
	}
	// Exactly the records of the two remaining edges are left: 2 edges x
	// (out, in) plus adjacency of c(out), a(in, out), b(in).
	left, err := h.g.Store().Count(ctx)
	must(t, err)
	equal(t, "records left", left, 8)
	removed, err = h.g.RemoveNode(ctx, x)
	must(t, err)
	equal(t, "removed again", removed, 0)
}

func testAddEdgesAtomic(t *testing.T, h *harness) {
	a, b := n("N", "a"), n("N", "b")
	err := h.g.AddEdges(ctx, e(a, b, "t", ""), e(b, a, "t", `[1]`))
	if !errors.Is(err, kvcore.ErrInvalidArgument) || !strings.Contains(err.Error(), "edge 1") {
		t.Fatalf("batch with a bad edge: %v", err)
	}
	c, err := h.g.Store().Count(ctx)
	must(t, err)
	equal(t, "records after failed batch", c, 0)
	// A repeated edge in one batch: the last properties win.
	h.add(t, e(a, b, "t", `{"v":1}`), e(a, b, "t", `{"v":2}`), e(b, a, "t", ""))
	got, _, err := h.g.GetEdge(ctx, a, "t", b)
	must(t, err)
	equal(t, "last wins", string(got.Properties), `{"v":2}`)
	must(t, h.g.AddEdges(ctx))
}

func testConcurrentWrites(t *testing.T, h *harness) {
	hub := n("N", "hub")
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				to := n("N", fmt.Sprintf("w%d-%d", w, i))
				if err := h.g.AddEdge(ctx, e(hub, to, "t", "")); err != nil {
					errs <- err
					return
				}
				// Half the workers also take edges away again, racing
				// with the adds on the same adjacency records.
				if w%2 == 1 && i%2 == 1 {
					if removed, err := h.g.RemoveEdge(ctx, hub, "t", to); err != nil || !removed {
						errs <- fmt.Errorf("remove %s: %v, %w", to, removed, err)
						return
					}
				}
				if err := h.g.AddEdge(ctx, e(to, hub, "back", "")); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := workers*each - (workers/2)*(each/2)
	d, err := h.g.OutDegree(ctx, hub, "t")
	must(t, err)
	equal(t, "out degree", d, want)
	// The adjacency agrees with the edge records.
	khop, err := h.g.KHop(ctx, hub, 1, kvgraph.TraversalOptions{EdgeTypes: []string{"t"}})
	must(t, err)
	equal(t, "neighbours", len(khop), want)
	khop, err = h.g.KHop(ctx, hub, 1, kvgraph.TraversalOptions{Direction: kvgraph.In})
	must(t, err)
	equal(t, "in-neighbours", len(khop), workers*each)
}

// build adds edges "a>b" (type t) given as strings.
func (h *harness) build(t *testing.T, spec ...string) {
	t.Helper()
	var edges []kvgraph.Edge
	for _, s := range spec {
		parts := strings.Split(s, ">")
		edges = append(edges, e(n("N", parts[0]), n("N", parts[1]), "t", ""))
	}
	h.add(t, edges...)
}

func ids(nodes []kvgraph.NodeRef) []string {
	out := make([]string, len(nodes))
	for i, x := range nodes {
		out[i] = x.ID
	}
	return out
}

func testBFS(t *testing.T, h *harness) {
	// A diamond with a cycle back to the start and a tail.
	h.build(t, "a>b", "a>c", "b>d", "c>d", "d>a", "d>e", "e>f")
	h.add(t, e(n("N", "a"), n("N", "z"), "other", ""))
	bfs := func(start string, o kvgraph.TraversalOptions) ([]string, []int) {
		var got []string
		var depth []int
		for v, err := range h.g.BFS(ctx, n("N", start), o) {
			must(t, err)
			got = append(got, v.Node.ID)
			depth = append(depth, v.Depth)
			if v.Depth > 0 && v.Via.To != v.Node && v.Via.From != v.Node {
				t.Fatalf("visit %+v: Via does not touch the node", v)
			}
		}
		return got, depth
	}
	got, depth := bfs("a", kvgraph.TraversalOptions{})
	// Hops leave a node in the order of edge type, then target.
	equal(t, "bfs", got, []string{"a", "z", "b", "c", "d", "e", "f"})
	equal(t, "depths", depth, []int{0, 1, 1, 1, 2, 3, 4})
	got, _ = bfs("a", kvgraph.TraversalOptions{EdgeTypes: []string{"t"}, MaxDepth: 2})
	equal(t, "max depth 2", got, []string{"a", "b", "c", "d"})
	got, _ = bfs("d", kvgraph.TraversalOptions{Direction: kvgraph.In, EdgeTypes: []string{"t"}})
	equal(t, "incoming", got, []string{"d", "b", "c", "a"})
	got, _ = bfs("e", kvgraph.TraversalOptions{Direction: kvgraph.Both, MaxDepth: 1})
	equal(t, "both", got, []string{"e", "f", "d"})
	got, _ = bfs("a", kvgraph.TraversalOptions{MaxNodes: 3})
	equal(t, "max nodes", got, []string{"a", "z", "b"})
	got, _ = bfs("nowhere", kvgraph.TraversalOptions{})
	equal(t, "isolated", got, []string{"nowhere"})
	// Stopping early.
	count := 0
	for range h.g.BFS(ctx, n("N", "a"), kvgraph.TraversalOptions{}) {
		count++
		if count == 2 {
			break
		}
	}
	equal(t, "early stop", count, 2)
}

func testBFSQueries(t *testing.T, h *harness) {
	// A tree: 1 root, 10 children, 100 grandchildren, 1000 great-grandchildren.
	var edges []kvgraph.Edge
	level := []string{"r"}
	for d := 0; d < 3; d++ {
		var next []string
		for _, p := range level {
			for i := range 10 {
				c := fmt.Sprintf("%s.%d", p, i)
				edges = append(edges, e(n("N", p), n("N", c), "t", ""))
				next = append(next, c)
			}
		}
		level = next
	}
	for i := 0; i < len(edges); i += 500 {
		h.add(t, edges[i:min(i+500, len(edges))]...)
	}
	h.queries.Store(0)
	count := 0
	for _, err := range h.g.BFS(ctx, n("N", "r"), kvgraph.TraversalOptions{}) {
		must(t, err)
		count++
	}
	equal(t, "nodes", count, 1111)
	// Frontiers of 1, 10, 100 and 1000 nodes: one GetBatch each (the
	// default batch size is 1000). A query per node would be 1111.
	if q := h.queries.Load(); q != 4 {
		t.Fatalf("BFS made %d queries, want 4 (one per frontier)", q)
	}
	h.queries.Store(0)
	k, err := h.g.KHop(ctx, n("N", "r"), 2, kvgraph.TraversalOptions{})
	must(t, err)
	equal(t, "2-hop", len(k), 110)
	if q := h.queries.Load(); q != 2 {
		t.Fatalf("KHop(2) made %d queries, want 2", q)
	}
	h.queries.Store(0)
	p, ok, err := h.g.FindShortestPath(ctx, n("N", "r"), n("N", "r.9.9.9"))
	must(t, err)
	if !ok || p.Len() != 3 {
		t.Fatalf("path %v %+v", ok, p)
	}
	// Bidirectional: the target side has frontier 1 at each step, so at
	// most 3 expansions plus one read of the path's edges.
	if q := h.queries.Load(); q > 4 {
		t.Fatalf("shortest path made %d queries, want at most 4", q)
	}
	// A smaller batch size splits a frontier into ceil(N/size) queries.
	small := h.graph(t, kvgraph.DefaultNamespace, kvgraph.WithBatchSize(300))
	h.queries.Store(0)
	for _, err := range small.BFS(ctx, n("N", "r"), kvgraph.TraversalOptions{}) {
		must(t, err)
	}
	if q := h.queries.Load(); q != 1+1+1+4 {
		t.Fatalf("BFS with batch size 300 made %d queries, want 7", q)
	}
}

func checkPath(t *testing.T, p kvgraph.Path, from, to kvgraph.NodeRef, dir kvgraph.Direction) {
	t.Helper()
	if len(p.Nodes) != len(p.Edges)+1 || p.Nodes[0] != from || p.Nodes[len(p.Nodes)-1] != to {
		t.Fatalf("malformed path %+v", p)
	}
	seen := map[kvgraph.NodeRef]bool{}
	for i, ed := range p.Edges {
		a, b := p.Nodes[i], p.Nodes[i+1]
		fwd := ed.From == a && ed.To == b
		rev := ed.From == b && ed.To == a
		if !(fwd && dir != kvgraph.In) && !(rev && dir != kvgraph.Out) {
			t.Fatalf("edge %d %v does not join %v and %v (direction %v)", i, names([]kvgraph.Edge{ed}), a, b, dir)
		}
		if ed.Created.IsZero() {
			t.Fatalf("edge %d has no record data", i)
		}
		if seen[a] {
			t.Fatalf("path repeats %v", a)
		}
		seen[a] = true
	}
}

func testShortestPath(t *testing.T, h *harness) {
	h.build(t, "a>b", "b>c", "c>d", "a>x", "x>d", "d>a", "d>e", "q>e")
	h.add(t, e(n("N", "a"), n("N", "e"), "shortcut", `{"w":1}`))
	path := func(from, to string, o kvgraph.TraversalOptions) ([]string, bool) {
		p, ok, err := h.g.ShortestPath(ctx, n("N", from), n("N", to), o)
		must(t, err)
		if !ok {
			return nil, false
		}
		checkPath(t, p, n("N", from), n("N", to), o.Direction)
		equal(t, "cost", p.Cost, float64(p.Len()))
		return ids(p.Nodes), true
	}
	tt := kvgraph.TraversalOptions{EdgeTypes: []string{"t"}}
	got, ok := path("a", "d", tt)
	if !ok {
		t.Fatal("a->d not found")
	}
	equal(t, "a->d", got, []string{"a", "x", "d"})
	got, _ = path("a", "e", kvgraph.TraversalOptions{})
	equal(t, "a->e any type", got, []string{"a", "e"})
	got, _ = path("a", "e", tt)
	equal(t, "a->e follows t", got, []string{"a", "x", "d", "e"})
	got, _ = path("b", "a", tt)
	equal(t, "around the cycle", got, []string{"b", "c", "d", "a"})
	got, _ = path("a", "a", tt)
	equal(t, "to itself", got, []string{"a"})
	if _, ok := path("e", "a", tt); ok {
		t.Fatal("e->a should not exist (edges point away)")
	}
	got, _ = path("e", "a", kvgraph.TraversalOptions{Direction: kvgraph.In, EdgeTypes: []string{"t"}})
	equal(t, "e->a backwards", got, []string{"e", "d", "x", "a"})
	got, _ = path("q", "a", kvgraph.TraversalOptions{Direction: kvgraph.Both})
	equal(t, "q->a either way", got, []string{"q", "e", "a"})
	if _, ok := path("a", "e", kvgraph.TraversalOptions{EdgeTypes: []string{"t"}, MaxDepth: 2}); ok {
		t.Fatal("path longer than MaxDepth")
	}
	got, _ = path("a", "e", kvgraph.TraversalOptions{EdgeTypes: []string{"t"}, MaxDepth: 3})
	equal(t, "within MaxDepth", got, []string{"a", "x", "d", "e"})
	if _, ok := path("a", "nowhere", tt); ok {
		t.Fatal("path to a node without edges")
	}
	p, ok, err := h.g.FindShortestPath(ctx, n("N", "a"), n("N", "e"), "shortcut")
	must(t, err)
	if !ok || string(p.Edges[0].Properties) != `{"w":1}` {
		t.Fatalf("path edge properties: %+v", p)
	}
	// MaxNodes.
	var chain []string
	for i := range 50 {
		chain = append(chain, fmt.Sprintf("c%d>c%d", i, i+1))
	}
	h.build(t, chain...)
	_, _, err = h.g.ShortestPath(ctx, n("N", "c0"), n("N", "c50"), kvgraph.TraversalOptions{MaxNodes: 10})
	if !errors.Is(err, kvgraph.ErrTraversalLimit) {
		t.Fatalf("MaxNodes: %v", err)
	}
	got, _ = path("c0", "c50", kvgraph.TraversalOptions{})
	equal(t, "long chain", len(got), 51)
}

// testSharedPrefixes checks paths that share prefixes: a binary tree where
// every leaf's path shares its first hops with many others, plus cross
// edges that make the first-found parent matter.
func testSharedPrefixes(t *testing.T, h *harness) {
	var spec []string
	for i := 1; i < 64; i++ {
		spec = append(spec, fmt.Sprintf("%d>%d", i, 2*i), fmt.Sprintf("%d>%d", i, 2*i+1))
	}
	// Cross edges between siblings' subtrees, which must not shorten or
	// corrupt anything.
	spec = append(spec, "4>5", "10>11", "20>21", "40>41")
	h.build(t, spec...)
	root := n("N", "1")
	paths := map[int]kvgraph.Path{}
	for leaf := 64; leaf < 128; leaf++ {
		p, ok, err := h.g.FindShortestPath(ctx, root, n("N", fmt.Sprint(leaf)))
		must(t, err)
		if !ok {
			t.Fatalf("no path to %d", leaf)
		}
		checkPath(t, p, root, n("N", fmt.Sprint(leaf)), kvgraph.Out)
		// The tree path: the leaf's ancestors, halving.
		var want []string
		for x := leaf; x >= 1; x /= 2 {
			want = append([]string{fmt.Sprint(x)}, want...)
		}
		equal(t, fmt.Sprintf("path to %d", leaf), ids(p.Nodes), want)
		paths[leaf] = p
	}
	// Later searches did not change paths returned earlier.
	for leaf, p := range paths {
		if p.Nodes[len(p.Nodes)-1].ID != fmt.Sprint(leaf) || len(p.Nodes) != 7 {
			t.Fatalf("path to %d changed: %v", leaf, ids(p.Nodes))
		}
	}
	// Every node reached by BFS has a parent chain back to the root.
	parents := map[kvgraph.NodeRef]kvgraph.NodeRef{}
	for v, err := range h.g.BFS(ctx, root, kvgraph.TraversalOptions{}) {
		must(t, err)
		if v.Depth > 0 {
			parents[v.Node] = v.Parent
		}
	}
	for x := range parents {
		steps := 0
		for y := x; y != root; y = parents[y] {
			steps++
			if steps > 10 {
				t.Fatalf("parent chain of %v does not reach the root", x)
			}
		}
	}
}

// randomGraph makes a graph of nodes 0..nodes-1 with edges random edges
// (no duplicates), adds it and returns its adjacency.
func (h *harness) randomGraph(t *testing.T, seed uint64, nodes, edges int, weights bool) map[int]map[int]float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	adj := map[int]map[int]float64{}
	var batch []kvgraph.Edge
	for len(batch) < edges {
		a, b := r.IntN(nodes), r.IntN(nodes)
		if a == b || adj[a][b] != 0 {
			continue
		}
		w := 1.0
		if weights {
			w = float64(1 + r.IntN(9))
		}
		if adj[a] == nil {
			adj[a] = map[int]float64{}
		}
		adj[a][b] = w
		batch = append(batch, e(n("N", fmt.Sprint(a)), n("N", fmt.Sprint(b)), "t", fmt.Sprintf(`{"w":%g}`, w)))
	}
	for i := 0; i < len(batch); i += 500 {
		h.add(t, batch[i:min(i+500, len(batch))]...)
	}
	return adj
}

// dijkstra computes distances from src in memory (unit weights if unit).
func dijkstra(adj map[int]map[int]float64, src, nodes int, unit bool, reverse bool) []float64 {
	if reverse {
		rev := map[int]map[int]float64{}
		for a, m := range adj {
			for b, w := range m {
				if rev[b] == nil {
					rev[b] = map[int]float64{}
				}
				rev[b][a] = w
			}
		}
		adj = rev
	}
	dist := make([]float64, nodes)
	for i := range dist {
		dist[i] = math.Inf(1)
	}
	dist[src] = 0
	done := make([]bool, nodes)
	for {
		u := -1
		for i := range dist {
			if !done[i] && !math.IsInf(dist[i], 1) && (u < 0 || dist[i] < dist[u]) {
				u = i
			}
		}
		if u < 0 {
			return dist
		}
		done[u] = true
		for v, w := range adj[u] {
			if unit {
				w = 1
			}
			if dist[u]+w < dist[v] {
				dist[v] = dist[u] + w
			}
		}
	}
}

func testShortestPathRandom(t *testing.T, h *harness) {
	const nodes = 120
	adj := h.randomGraph(t, 7, nodes, 300, false)
	for _, dir := range []kvgraph.Direction{kvgraph.Out, kvgraph.In} {
		for src := 0; src < nodes; src += 17 {
			dist := dijkstra(adj, src, nodes, true, dir == kvgraph.In)
			for dst := 0; dst < nodes; dst += 3 {
				p, ok, err := h.g.ShortestPath(ctx, n("N", fmt.Sprint(src)), n("N", fmt.Sprint(dst)), kvgraph.TraversalOptions{Direction: dir})
				must(t, err)
				if ok != !math.IsInf(dist[dst], 1) {
					t.Fatalf("%v %d->%d: found %v, reference distance %v", dir, src, dst, ok, dist[dst])
				}
				if ok {
					checkPath(t, p, n("N", fmt.Sprint(src)), n("N", fmt.Sprint(dst)), dir)
					if float64(p.Len()) != dist[dst] {
						t.Fatalf("%v %d->%d: %d hops, reference %v", dir, src, dst, p.Len(), dist[dst])
					}
				}
			}
		}
	}
	// KHop distances agree with the reference too.
	dist := dijkstra(adj, 0, nodes, true, false)
	k, err := h.g.KHop(ctx, n("N", "0"), 3, kvgraph.TraversalOptions{})
	must(t, err)
	want := 0
	for i, d := range dist {
		if i != 0 && d <= 3 {
			want++
		}
	}
	equal(t, "3-hop size", len(k), want)
	for _, v := range k {
		var i int
		fmt.Sscan(v.Node.ID, &i)
		if float64(v.Depth) != dist[i] {
			t.Fatalf("node %d at depth %d, reference %v", i, v.Depth, dist[i])
		}
	}
}

func testWeighted(t *testing.T, h *harness) {
	a, b, c, d := n("N", "a"), n("N", "b"), n("N", "c"), n("N", "d")
	h.add(t,
		e(a, d, "road", `{"km":10}`),
		e(a, b, "road", `{"km":2}`),
		e(b, c, "road", `{"km":2.5}`),
		e(c, d, "road", `{"km":3}`),
		e(a, c, "rail", `{"km":1}`),
	)
	w := kvgraph.WeightOptions{Property: "km"}
	p, ok, err := h.g.WeightedShortestPath(ctx, a, d, w, kvgraph.TraversalOptions{EdgeTypes: []string{"road"}})
	must(t, err)
	if !ok {
		t.Fatal("not found")
	}
	checkPath(t, p, a, d, kvgraph.Out)
	equal(t, "weighted path", ids(p.Nodes), []string{"a", "b", "c", "d"})
	equal(t, "cost", p.Cost, 7.5)
	p, _, err = h.g.WeightedShortestPath(ctx, a, d, w, kvgraph.TraversalOptions{})
	must(t, err)
	equal(t, "with rail", ids(p.Nodes), []string{"a", "c", "d"})
	equal(t, "cost with rail", p.Cost, 4.0)
	_, ok, err = h.g.WeightedShortestPath(ctx, d, a, w, kvgraph.TraversalOptions{})
	must(t, err)
	if ok {
		t.Fatal("d->a found")
	}
	p, ok, err = h.g.WeightedShortestPath(ctx, d, a, w, kvgraph.TraversalOptions{Direction: kvgraph.Both})
	must(t, err)
	if !ok || p.Cost != 4 {
		t.Fatalf("both ways: %v %+v", ok, p)
	}

	// Bad weights are errors, raised when the search reaches them.
	for i, props := range []string{`{"km":-1}`, `{"km":"3"}`, `{"km":null}`, `{"km":true}`, `{"km":{"v":1}}`, `{"km":1e999}`, `{}`} {
		x, y := n("B", fmt.Sprint(i)), n("B", fmt.Sprint(i)+"y")
		h.add(t, e(x, y, "road", props))
		_, _, err := h.g.WeightedShortestPath(ctx, x, y, w, kvgraph.TraversalOptions{})
		if !errors.Is(err, kvgraph.ErrInvalidWeight) {
			t.Fatalf("weight %s: %v", props, err)
		}
	}
	one := 1.0
	_, ok, err = h.g.WeightedShortestPath(ctx, n("B", "6"), n("B", "6y"), kvgraph.WeightOptions{Property: "km", Default: &one}, kvgraph.TraversalOptions{})
	must(t, err)
	if !ok {
		t.Fatal("default weight: not found")
	}
	// A bad weight the search never needs is not an error.
	h.add(t, e(d, n("N", "far"), "road", `{"km":-5}`))
	_, ok, err = h.g.WeightedShortestPath(ctx, a, c, w, kvgraph.TraversalOptions{})
	must(t, err)
	if !ok {
		t.Fatal("a->c not found")
	}
	for _, bad := range []kvgraph.WeightOptions{{}, {Property: "km", Default: new(float64)}} {
		if bad.Default != nil {
			*bad.Default = -1
		}
		if _, _, err := h.g.WeightedShortestPath(ctx, a, d, bad, kvgraph.TraversalOptions{}); !errors.Is(err, kvcore.ErrInvalidArgument) {
			t.Fatalf("options %+v: %v", bad, err)
		}
	}
	if _, _, err := h.g.WeightedShortestPath(ctx, a, d, w, kvgraph.TraversalOptions{MaxDepth: 2}); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Fatalf("MaxDepth: %v", err)
	}
}

func testWeightedRandom(t *testing.T, h *harness) {
	const nodes = 100
	adj := h.randomGraph(t, 11, nodes, 400, true)
	w := kvgraph.WeightOptions{Property: "w"}
	for src := 0; src < nodes; src += 23 {
		dist := dijkstra(adj, src, nodes, false, false)
		h.queries.Store(0)
		for dst := 1; dst < nodes; dst += 4 {
			p, ok, err := h.g.WeightedShortestPath(ctx, n("N", fmt.Sprint(src)), n("N", fmt.Sprint(dst)), w, kvgraph.TraversalOptions{})
			must(t, err)
			if ok != !math.IsInf(dist[dst], 1) {
				t.Fatalf("%d->%d: found %v, reference %v", src, dst, ok, dist[dst])
			}
			if !ok {
				continue
			}
			checkPath(t, p, n("N", fmt.Sprint(src)), n("N", fmt.Sprint(dst)), kvgraph.Out)
			sum := 0.0
			for _, ed := range p.Edges {
				var props struct{ W float64 }
				must(t, json.Unmarshal(ed.Properties, &props))
				sum += props.W
			}
			if p.Cost != dist[dst] || sum != p.Cost {
				t.Fatalf("%d->%d: cost %v (edges sum %v), reference %v", src, dst, p.Cost, sum, dist[dst])
			}
		}
	}
	// Reads are batched: far fewer queries than settled nodes.
	h.queries.Store(0)
	_, _, err := h.g.WeightedShortestPath(ctx, n("N", "0"), n("N", "nowhere"), w, kvgraph.TraversalOptions{})
	must(t, err)
	reach := 0
	for _, d := range dijkstra(adj, 0, nodes, false, false) {
		if !math.IsInf(d, 1) {
			reach++
		}
	}
	if q := h.queries.Load(); q > int64(reach)/2 {
		t.Fatalf("weighted search over %d nodes made %d queries", reach, q)
	}
}

func testKHop(t *testing.T, h *harness) {
	h.build(t, "a>b", "b>c", "c>d", "a>c", "d>a", "x>a")
	k, err := h.g.KHop(ctx, n("N", "a"), 2, kvgraph.TraversalOptions{})
	must(t, err)
	got := map[string]int{}
	for _, v := range k {
		got[v.Node.ID] = v.Depth
	}
	equal(t, "2-hop", got, map[string]int{"b": 1, "c": 1, "d": 2})
	k, err = h.g.KHop(ctx, n("N", "a"), 1, kvgraph.TraversalOptions{Direction: kvgraph.Both})
	must(t, err)
	var idsGot []string
	for _, v := range k {
		idsGot = append(idsGot, v.Node.ID)
	}
	slices.Sort(idsGot)
	equal(t, "1-hop both", idsGot, []string{"b", "c", "d", "x"})
	k, err = h.g.KHop(ctx, n("N", "a"), 0, kvgraph.TraversalOptions{})
	must(t, err)
	equal(t, "0-hop", len(k), 0)
}

func testSubgraph(t *testing.T, h *harness) {
	alice, bob, carol, post := n("User", "alice"), n("User", "bob"), n("User", "carol"), n("Post", "1")
	h.add(t,
		e(alice, bob, "follows", `{"since":"2024"}`),
		e(bob, carol, "follows", ""),
		e(carol, alice, "follows", ""),
		e(alice, post, "authored", ""),
		e(bob, post, "liked", ""),
	)
	sg, err := h.g.Subgraph(ctx, kvgraph.ViewOptions{})
	must(t, err)
	equal(t, "whole graph", len(sg.Edges), 5)
	equal(t, "nodes", len(sg.Nodes), 4)
	sg, err = h.g.Subgraph(ctx, kvgraph.ViewOptions{EdgeTypes: []string{"follows", "liked"}})
	must(t, err)
	equal(t, "follows+liked", names(sg.Edges), []string{"User:alice -follows-> User:bob", "User:bob -follows-> User:carol", "User:bob -liked-> Post:1", "User:carol -follows-> User:alice"})
	sg, err = h.g.Subgraph(ctx, kvgraph.ViewOptions{NodeType: "Post"})
	must(t, err)
	equal(t, "Post edges", names(sg.Edges), []string{"User:alice -authored-> Post:1", "User:bob -liked-> Post:1"})
	sg, err = h.g.Subgraph(ctx, kvgraph.ViewOptions{NodeType: "User", NodeID: "alice"})
	must(t, err)
	equal(t, "alice depth 1", names(sg.Edges), []string{"User:alice -authored-> Post:1", "User:alice -follows-> User:bob", "User:carol -follows-> User:alice"})
	if string(sg.Edges[1].Properties) != `{"since":"2024"}` {
		t.Fatalf("properties in subgraph: %s", sg.Edges[1].Properties)
	}
	out := kvgraph.Out
	sg, err = h.g.Subgraph(ctx, kvgraph.ViewOptions{NodeType: "User", NodeID: "alice", Depth: 2, Direction: &out, EdgeTypes: []string{"follows"}})
	must(t, err)
	equal(t, "alice depth 2 out", names(sg.Edges), []string{"User:alice -follows-> User:bob", "User:bob -follows-> User:carol"})
	sg, err = h.g.Subgraph(ctx, kvgraph.ViewOptions{NodeType: "User", NodeID: "nobody"})
	must(t, err)
	equal(t, "isolated node", sg.Nodes, []kvgraph.NodeRef{n("User", "nobody")})
	if _, err := h.g.Subgraph(ctx, kvgraph.ViewOptions{MaxEdges: 2}); !errors.Is(err, kvgraph.ErrTraversalLimit) {
		t.Fatalf("MaxEdges: %v", err)
	}
	if _, err := h.g.Subgraph(ctx, kvgraph.ViewOptions{NodeID: "x"}); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Fatalf("id without type: %v", err)
	}
	var buf strings.Builder
	must(t, h.g.View(ctx, &buf, kvgraph.FormatMermaid, kvgraph.ViewOptions{EdgeTypes: []string{"authored"}}))
	equal(t, "mermaid view", buf.String(), "flowchart LR\n  n0[\"Post:1\"]\n  n1[\"User:alice\"]\n  n1 -->|\"authored\"| n0\n")
	// Only "*" itself means any: a name that starts with "*" is a name.
	star := n("*User", "alice")
	h.add(t, e(star, alice, "mirrors", ""))
	for _, v := range []kvgraph.ViewOptions{{NodeType: "*User"}, {NodeType: "*User", NodeID: "alice"}} {
		sg, err = h.g.Subgraph(ctx, v)
		must(t, err)
		equal(t, fmt.Sprintf("view %+v", v), names(sg.Edges), []string{"*User:alice -mirrors-> User:alice"})
	}
}
