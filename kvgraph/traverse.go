package kvgraph

import (
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Direction says which edges a traversal follows.
type Direction int

// Directions.
const (
	// Out follows edges from source to target (the default).
	Out Direction = iota
	// In follows edges backwards, from target to source.
	In
	// Both follows edges either way.
	Both
)

// String returns "out", "in" or "both".
func (d Direction) String() string {
	switch d {
	case Out:
		return "out"
	case In:
		return "in"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// ParseDirection parses "out" (or ""), "in" or "both".
func ParseDirection(s string) (Direction, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "out", "outgoing":
		return Out, nil
	case "in", "incoming":
		return In, nil
	case "both", "any":
		return Both, nil
	}
	return Out, invalid("direction %q: want out, in or both", s)
}

// TraversalOptions configure BFS, KHop and the shortest-path searches.
type TraversalOptions struct {
	// EdgeTypes limits the traversal to these edge types (none, or "*":
	// every type).
	EdgeTypes []string
	// MaxDepth is the most hops from the start (0: no limit).
	MaxDepth int
	// Direction is which way edges are followed (default Out).
	Direction Direction
	// MaxNodes bounds how many nodes a search visits (0: no limit). BFS
	// stops after yielding that many; shortest-path searches fail with
	// ErrTraversalLimit.
	MaxNodes int
}

func (o TraversalOptions) check() (map[string]bool, error) {
	if o.MaxDepth < 0 {
		return nil, invalid("max depth %d is negative", o.MaxDepth)
	}
	if o.MaxNodes < 0 {
		return nil, invalid("max nodes %d is negative", o.MaxNodes)
	}
	if o.Direction < Out || o.Direction > Both {
		return nil, invalid("unknown direction %d", int(o.Direction))
	}
	if allTypes(o.EdgeTypes) {
		return nil, nil
	}
	types := map[string]bool{}
	for _, t := range o.EdgeTypes {
		if err := ValidateName("edge type", t); err != nil {
			return nil, err
		}
		types[t] = true
	}
	return types, nil
}

// EdgeRef identifies an edge without its properties.
type EdgeRef struct {
	From NodeRef `json:"from"`
	Type string  `json:"type"`
	To   NodeRef `json:"to"`
}

// hop is one step from a node to a neighbour along an edge.
type hop struct {
	to   NodeRef
	key  string // nodeKey(to)
	edge EdgeRef
}

// neighbours reads the adjacency records of every node in frontier (given
// by node key) with as few GetBatch calls as the batch size allows, and
// returns the hops from each, in a stable order (adjacency order, out-hops
// before in-hops).
func (g *Graph) neighbours(ctx context.Context, frontier []NodeRef, dir Direction, types map[string]bool) (map[string][]hop, error) {
	keys := make([]string, 0, 2*len(frontier))
	for _, n := range frontier {
		if dir == Out || dir == Both {
			keys = append(keys, adjOutKey(n))
		}
		if dir == In || dir == Both {
			keys = append(keys, adjInKey(n))
		}
	}
	recs, err := g.getMap(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]hop, len(frontier))
	for _, n := range frontier {
		nk := nodeKey(n)
		if _, done := out[nk]; done {
			continue
		}
		var hs []hop
		for _, side := range []Direction{Out, In} {
			if dir != Both && dir != side {
				continue
			}
			key := adjOutKey(n)
			if side == In {
				key = adjInKey(n)
			}
			entries, err := decodeAdj(recs[key])
			if err != nil {
				return nil, err
			}
			for _, s := range entries {
				t, other, err := parseSuffix(s)
				if err != nil {
					return nil, err
				}
				if types != nil && !types[t] {
					continue
				}
				e := EdgeRef{From: n, Type: t, To: other}
				if side == In {
					e = EdgeRef{From: other, Type: t, To: n}
				}
				hs = append(hs, hop{to: other, key: nodeKey(other), edge: e})
			}
		}
		out[nk] = hs
	}
	return out, nil
}

// Visit is a node reached by a traversal.
type Visit struct {
	Node  NodeRef `json:"node"`
	Depth int     `json:"depth"`
	// Parent is the node it was reached from (zero for the start).
	Parent NodeRef `json:"parent"`
	// Via is the edge it was reached by (zero for the start). With In or
	// Both, Via may point from Node to Parent.
	Via EdgeRef `json:"via"`
}

// BFS iterates over the nodes reachable from start in breadth-first order,
// start first (depth 0). Each depth is read with one round of GetBatch calls
// over the whole frontier (ceil(frontier/batch size) queries), never a query
// per node. Nodes at one depth come in a stable order. Break out of the loop
// to stop early.
func (g *Graph) BFS(ctx context.Context, start NodeRef, opts TraversalOptions) iter.Seq2[Visit, error] {
	return func(yield func(Visit, error) bool) {
		if err := checkNode("start", start); err != nil {
			yield(Visit{}, err)
			return
		}
		types, err := opts.check()
		if err != nil {
			yield(Visit{}, err)
			return
		}
		visited := map[string]bool{nodeKey(start): true}
		if !yield(Visit{Node: start}, nil) {
			return
		}
		count := 1
		frontier := []NodeRef{start}
		for depth := 1; len(frontier) > 0 && (opts.MaxDepth == 0 || depth <= opts.MaxDepth); depth++ {
			if opts.MaxNodes > 0 && count >= opts.MaxNodes {
				return
			}
			hops, err := g.neighbours(ctx, frontier, opts.Direction, types)
			if err != nil {
				yield(Visit{}, err)
				return
			}
			var next []NodeRef
			for _, n := range frontier {
				for _, h := range hops[nodeKey(n)] {
					if visited[h.key] {
						continue
					}
					visited[h.key] = true
					if !yield(Visit{Node: h.to, Depth: depth, Parent: n, Via: h.edge}, nil) {
						return
					}
					count++
					if opts.MaxNodes > 0 && count >= opts.MaxNodes {
						return
					}
					next = append(next, h.to)
				}
			}
			frontier = next
		}
	}
}

// KHop returns the nodes within k hops of node (not node itself), with
// their distance (Visit.Depth), in BFS order. opts.MaxDepth is ignored.
func (g *Graph) KHop(ctx context.Context, node NodeRef, k int, opts TraversalOptions) ([]Visit, error) {
	if k < 0 {
		return nil, invalid("k %d is negative", k)
	}
	if k == 0 {
		if err := checkNode("node", node); err != nil {
			return nil, err
		}
		return []Visit{}, nil
	}
	opts.MaxDepth = k
	out := []Visit{}
	for v, err := range g.BFS(ctx, node, opts) {
		if err != nil {
			return nil, err
		}
		if v.Depth > 0 {
			out = append(out, v)
		}
	}
	return out, nil
}

// Path is a path through the graph.
type Path struct {
	// Nodes are the nodes from the start to the end, both included.
	Nodes []NodeRef `json:"nodes"`
	// Edges are the edges between them (len(Nodes)-1), with properties as
	// read when the path was found. With In or Both an edge may point
	// against the path.
	Edges []Edge `json:"edges"`
	// Cost is the number of hops, or for WeightedShortestPath the sum of
	// the weights.
	Cost float64 `json:"cost"`
}

// Len returns the number of hops.
func (p Path) Len() int { return len(p.Edges) }

// FindShortestPath finds a path from -> to with the fewest hops, following
// outgoing edges of the given types (all types if none, or "*"). found is
// false if there is none.
func (g *Graph) FindShortestPath(ctx context.Context, from, to NodeRef, edgeTypes ...string) (path Path, found bool, err error) {
	return g.ShortestPath(ctx, from, to, TraversalOptions{EdgeTypes: edgeTypes})
}

// step is a parent pointer: how a search reached a node.
type step struct {
	prev NodeRef
	edge EdgeRef
}

// side is one end of a bidirectional search.
type side struct {
	dir      Direction
	dist     map[string]int
	parent   map[string]step
	frontier []NodeRef
	depth    int
}

// ShortestPath finds a path from -> to with the fewest hops. It searches
// from both ends at once, always expanding the smaller frontier, a whole
// frontier per round of reads. Among paths of equal length the result is
// stable.
func (g *Graph) ShortestPath(ctx context.Context, from, to NodeRef, opts TraversalOptions) (Path, bool, error) {
	if err := checkNode("from", from); err != nil {
		return Path{}, false, err
	}
	if err := checkNode("to", to); err != nil {
		return Path{}, false, err
	}
	types, err := opts.check()
	if err != nil {
		return Path{}, false, err
	}
	fk, tk := nodeKey(from), nodeKey(to)
	if fk == tk {
		return Path{Nodes: []NodeRef{from}, Edges: []Edge{}}, true, nil
	}
	back := map[Direction]Direction{Out: In, In: Out, Both: Both}
	fwd := &side{dir: opts.Direction, dist: map[string]int{fk: 0}, parent: map[string]step{}, frontier: []NodeRef{from}}
	bwd := &side{dir: back[opts.Direction], dist: map[string]int{tk: 0}, parent: map[string]step{}, frontier: []NodeRef{to}}
	for {
		if opts.MaxDepth > 0 && fwd.depth+bwd.depth >= opts.MaxDepth {
			return Path{}, false, nil
		}
		cur, other := fwd, bwd
		if len(bwd.frontier) < len(fwd.frontier) {
			cur, other = bwd, fwd
		}
		if len(cur.frontier) == 0 {
			return Path{}, false, nil
		}
		hops, err := g.neighbours(ctx, cur.frontier, cur.dir, types)
		if err != nil {
			return Path{}, false, err
		}
		cur.depth++
		var next []NodeRef
		var meetNode NodeRef
		meet, best := "", math.MaxInt
		for _, n := range cur.frontier {
			for _, h := range hops[nodeKey(n)] {
				if _, seen := cur.dist[h.key]; seen {
					continue
				}
				cur.dist[h.key] = cur.depth
				cur.parent[h.key] = step{prev: n, edge: h.edge}
				next = append(next, h.to)
				if d, ok := other.dist[h.key]; ok && cur.depth+d < best {
					meet, best, meetNode = h.key, cur.depth+d, h.to
				}
			}
		}
		cur.frontier = next
		if meet != "" {
			return g.buildPath(ctx, fwd, bwd, meetNode, from, to)
		}
		if opts.MaxNodes > 0 && len(fwd.dist)+len(bwd.dist) > opts.MaxNodes {
			return Path{}, false, fmt.Errorf("%w: visited %d nodes (MaxNodes %d) without finding a path", ErrTraversalLimit, len(fwd.dist)+len(bwd.dist), opts.MaxNodes)
		}
	}
}

// buildPath joins the two halves of a bidirectional search at meetNode.
func (g *Graph) buildPath(ctx context.Context, fwd, bwd *side, meetNode, from, to NodeRef) (Path, bool, error) {
	nodes, refs := pathTo(fwd.parent, from, meetNode)
	for n := meetNode; nodeKey(n) != nodeKey(to); {
		s := bwd.parent[nodeKey(n)]
		refs = append(refs, s.edge)
		n = s.prev
		nodes = append(nodes, n)
	}
	return g.readPath(ctx, nodes, refs, float64(len(refs)))
}

// pathTo follows parent pointers back from end to start and returns the
// nodes from start to end and the edges between them. Each node has its own
// parent pointer, so paths that share a prefix never share storage.
func pathTo(parent map[string]step, start, end NodeRef) ([]NodeRef, []EdgeRef) {
	nodes := []NodeRef{end}
	var refs []EdgeRef
	for n := end; nodeKey(n) != nodeKey(start); {
		s := parent[nodeKey(n)]
		refs = append(refs, s.edge)
		n = s.prev
		nodes = append(nodes, n)
	}
	slices.Reverse(nodes)
	slices.Reverse(refs)
	return nodes, refs
}

// readPath returns the path through nodes along refs, with the edges read
// from the store.
func (g *Graph) readPath(ctx context.Context, nodes []NodeRef, refs []EdgeRef, cost float64) (Path, bool, error) {
	edges, err := g.fetchEdges(ctx, refs)
	if err != nil {
		return Path{}, false, err
	}
	return Path{Nodes: nodes, Edges: edges, Cost: cost}, true, nil
}

// fetchEdges reads the edges refs name (in batches) and returns them in
// order. An edge removed since it was traversed comes back without
// properties.
func (g *Graph) fetchEdges(ctx context.Context, refs []EdgeRef) ([]Edge, error) {
	keys := make([]string, len(refs))
	for i, r := range refs {
		keys[i] = outKey(r.From, r.Type, r.To)
	}
	recs, err := g.getMap(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]Edge, len(refs))
	for i, r := range refs {
		if rec, ok := recs[keys[i]]; ok {
			e, err := edgeFromRecord(rec)
			if err != nil {
				return nil, err
			}
			out[i] = e
			continue
		}
		out[i] = Edge{From: r.From, To: r.To, Type: r.Type}
	}
	return out, nil
}

// WeightOptions configure WeightedShortestPath.
type WeightOptions struct {
	// Property is the name of the edge property that holds the weight, a
	// JSON number >= 0 (required).
	Property string
	// Default, if not nil, is the weight of an edge without the property;
	// if nil such an edge is an error.
	Default *float64
}

// whop is a hop with its weight (or the reason it has none).
type whop struct {
	hop
	w   float64
	err error
}

// WeightedShortestPath finds the path from -> to with the least total
// weight (Dijkstra), where an edge's weight is its property w.Property.
// A weight that is missing (with no Default), not a number, negative or not
// finite is an ErrInvalidWeight error, raised when the search reaches that
// edge. opts.MaxDepth must be 0.
//
// Edges are read in batches: when the search needs a node's edges it reads
// them for that node and for the closest other unread nodes waiting in the
// queue, up to the batch size, with one adjacency GetBatch and one edge
// GetBatch. Each node is read at most once.
func (g *Graph) WeightedShortestPath(ctx context.Context, from, to NodeRef, w WeightOptions, opts TraversalOptions) (Path, bool, error) {
	if err := checkNode("from", from); err != nil {
		return Path{}, false, err
	}
	if err := checkNode("to", to); err != nil {
		return Path{}, false, err
	}
	if w.Property == "" {
		return Path{}, false, invalid("weight property name is empty")
	}
	if w.Default != nil && (*w.Default < 0 || math.IsNaN(*w.Default) || math.IsInf(*w.Default, 0)) {
		return Path{}, false, invalid("default weight %v must be a finite number >= 0", *w.Default)
	}
	if opts.MaxDepth != 0 {
		return Path{}, false, invalid("MaxDepth is not supported by weighted paths (got %d)", opts.MaxDepth)
	}
	types, err := opts.check()
	if err != nil {
		return Path{}, false, err
	}
	fk, tk := nodeKey(from), nodeKey(to)
	dist := map[string]float64{fk: 0}
	parent := map[string]step{}
	nodes := map[string]NodeRef{fk: from}
	settled := map[string]bool{}
	loaded := map[string][]whop{}
	pq := &pqueue{}
	seq := 0
	heap.Push(pq, pqItem{key: fk, dist: 0, seq: seq})
	for pq.Len() > 0 {
		it := heap.Pop(pq).(pqItem)
		if settled[it.key] || it.dist > dist[it.key] {
			continue
		}
		settled[it.key] = true
		if opts.MaxNodes > 0 && len(settled) > opts.MaxNodes {
			return Path{}, false, fmt.Errorf("%w: settled %d nodes (MaxNodes %d) without reaching the target", ErrTraversalLimit, len(settled), opts.MaxNodes)
		}
		if it.key == tk {
			path, refs := pathTo(parent, from, to)
			return g.readPath(ctx, path, refs, dist[tk])
		}
		if _, ok := loaded[it.key]; !ok {
			batch := []NodeRef{nodes[it.key]}
			for _, other := range pq.closest(g.batchSize - 1) {
				if !settled[other] {
					if _, ok := loaded[other]; !ok {
						batch = append(batch, nodes[other])
					}
				}
			}
			if err := g.loadWeighted(ctx, batch, opts.Direction, types, w, loaded); err != nil {
				return Path{}, false, err
			}
		}
		u := nodes[it.key]
		for _, h := range loaded[it.key] {
			if h.err != nil {
				return Path{}, false, h.err
			}
			if settled[h.key] {
				continue
			}
			nd := dist[it.key] + h.w
			if d, ok := dist[h.key]; ok && nd >= d {
				continue
			}
			dist[h.key] = nd
			parent[h.key] = step{prev: u, edge: h.edge}
			nodes[h.key] = h.to
			seq++
			heap.Push(pq, pqItem{key: h.key, dist: nd, seq: seq})
		}
	}
	return Path{}, false, nil
}

// loadWeighted reads the hops of nodes and their weights into loaded.
func (g *Graph) loadWeighted(ctx context.Context, nodes []NodeRef, dir Direction, types map[string]bool, w WeightOptions, loaded map[string][]whop) error {
	hops, err := g.neighbours(ctx, nodes, dir, types)
	if err != nil {
		return err
	}
	var keys []string
	for _, hs := range hops {
		for _, h := range hs {
			keys = append(keys, outKey(h.edge.From, h.edge.Type, h.edge.To))
		}
	}
	recs, err := g.getMap(ctx, keys)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		nk := nodeKey(n)
		hs := hops[nk]
		ws := make([]whop, 0, len(hs))
		for _, h := range hs {
			k := outKey(h.edge.From, h.edge.Type, h.edge.To)
			rec, ok := recs[k]
			if !ok {
				continue // removed since the adjacency was read
			}
			wt, err := weightOf(rec.Value, w)
			if err != nil {
				err = fmt.Errorf("%w: edge %s -[%s]-> %s: %v", ErrInvalidWeight, h.edge.From, h.edge.Type, h.edge.To, err)
			}
			ws = append(ws, whop{hop: h, w: wt, err: err})
		}
		loaded[nk] = ws
	}
	return nil
}

// weightOf reads the weight property from an edge's properties.
func weightOf(props json.RawMessage, w WeightOptions) (float64, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(props, &m); err != nil {
		return 0, fmt.Errorf("properties are not a JSON object")
	}
	raw, ok := m[w.Property]
	if !ok {
		if w.Default != nil {
			return *w.Default, nil
		}
		return 0, fmt.Errorf("no property %q", w.Property)
	}
	s := strings.TrimSpace(string(raw))
	if s == "" || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		return 0, fmt.Errorf("property %q is %s, not a number", w.Property, short(s))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("property %q is %s, not a finite number", w.Property, short(s))
	}
	if f < 0 {
		return 0, fmt.Errorf("property %q is %s: negative weights are not allowed", w.Property, s)
	}
	return f, nil
}

type pqItem struct {
	key  string
	dist float64
	seq  int
}

// pqueue is a min-heap by distance, then by insertion order (for stable
// results among equal distances).
type pqueue []pqItem

func (q pqueue) Len() int { return len(q) }
func (q pqueue) Less(i, j int) bool {
	if q[i].dist != q[j].dist {
		return q[i].dist < q[j].dist
	}
	return q[i].seq < q[j].seq
}
func (q pqueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pqueue) Push(x any)   { *q = append(*q, x.(pqItem)) }
func (q *pqueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// closest returns up to n distinct keys of the queue, nearest first.
func (q pqueue) closest(n int) []string {
	if n <= 0 || len(q) == 0 {
		return nil
	}
	cp := make(pqueue, len(q))
	copy(cp, q)
	var out []string
	seen := map[string]bool{}
	for cp.Len() > 0 && len(out) < n {
		it := heap.Pop(&cp).(pqItem)
		if !seen[it.key] {
			seen[it.key] = true
			out = append(out, it.key)
		}
	}
	return out
}
