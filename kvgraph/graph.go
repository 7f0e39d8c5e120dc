// Package kvgraph is a graph of typed entities on a kv store: directed,
// typed edges with JSON properties between node references (a type and an
// id), outgoing and incoming queries, breadth-first traversal, shortest
// paths (unweighted and weighted), k-hop neighbourhoods, and DOT and Mermaid
// output.
//
// It is built on *kvcore.Store alone, so it runs on every kv backend. Its
// records live in their own namespace of the store ("kvgraph" by default),
// so a user's own keys and listings never show them. See README.md for the
// key layout and the cost of each operation.
package kvgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sort"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// Errors returned by the graph. Bad arguments wrap kvcore.ErrInvalidArgument.
var (
	// ErrCorrupt: a record in the graph's namespace is not what the graph
	// wrote (someone else wrote there).
	ErrCorrupt = errors.New("kvgraph: corrupt graph record")
	// ErrInvalidWeight: a weighted path met an edge whose weight property is
	// missing, not a number, negative or not finite.
	ErrInvalidWeight = errors.New("kvgraph: invalid edge weight")
	// ErrTraversalLimit: a search visited more nodes than TraversalOptions.MaxNodes.
	ErrTraversalLimit = errors.New("kvgraph: traversal limit reached")
	// ErrContention: a write kept meeting concurrent writes to the same nodes
	// and gave up after many attempts. Nothing was changed.
	ErrContention = errors.New("kvgraph: too many concurrent writes to the same nodes")
)

// DefaultNamespace is the store namespace the graph uses unless WithNamespace
// says otherwise.
const DefaultNamespace = "kvgraph"

// DefaultBatchSize is the most keys the graph reads in one GetBatch.
const DefaultBatchSize = 1000

// NodeRef names a node: an entity's type and id (for example "User", "alice").
// Nodes exist only through their edges; the entity itself lives wherever the
// caller keeps it.
type NodeRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// NewNodeRef returns the reference to the node of type nodeType with id.
func NewNodeRef(id, nodeType string) NodeRef { return NodeRef{Type: nodeType, ID: id} }

// String returns "Type:ID" (for display only: it is ambiguous when Type
// contains ":").
func (n NodeRef) String() string { return n.Type + ":" + n.ID }

// Edge is a directed, typed edge between two nodes, with JSON properties.
type Edge struct {
	From NodeRef `json:"from"`
	To   NodeRef `json:"to"`
	Type string  `json:"type"`
	// Properties is a JSON object ({} when none were given).
	Properties json.RawMessage `json:"properties"`
	// Created and Updated are set by the store (UTC); they are ignored by
	// AddEdge.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// NewEdge returns an edge from -> to of type edgeType with properties (a JSON
// object, or nil for none).
func NewEdge(from, to NodeRef, edgeType string, properties json.RawMessage) Edge {
	return Edge{From: from, To: to, Type: edgeType, Properties: properties}
}

// Graph is a graph on a kv store. It is safe for concurrent use.
type Graph struct {
	s         *kvcore.Store // bound to the graph's namespace
	batchSize int
}

// Option configures New.
type Option func(*config) error

type config struct {
	ns        string
	batchSize int
}

// WithNamespace keeps the graph in namespace ns of the store (default
// "kvgraph"). Two graphs in different namespaces are independent.
func WithNamespace(ns string) Option {
	return func(c *config) error {
		if ns == "" {
			return invalid("graph namespace is empty (the default namespace belongs to the user's keys)")
		}
		c.ns = ns
		return nil
	}
}

// WithBatchSize sets the most keys read in one GetBatch (default 1000). A
// traversal reads a frontier of N nodes in ceil(N/size) queries.
func WithBatchSize(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return invalid("batch size %d must be positive", n)
		}
		c.batchSize = n
		return nil
	}
}

// New returns a graph on store, kept in the store's namespace "kvgraph" (see
// WithNamespace) whatever namespace store itself is bound to.
func New(store *kvcore.Store, opts ...Option) (*Graph, error) {
	if store == nil {
		return nil, invalid("nil store")
	}
	c := config{ns: DefaultNamespace, batchSize: DefaultBatchSize}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	ns, err := store.Namespace(c.ns)
	if err != nil {
		return nil, fmt.Errorf("kvgraph: %w", err)
	}
	return &Graph{s: ns, batchSize: c.batchSize}, nil
}

// Store returns the namespaced store that holds the graph's records.
func (g *Graph) Store() *kvcore.Store { return g.s }

// normProps validates properties and returns them compacted ({} for none).
func normProps(p json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(p)) == 0 || string(bytes.TrimSpace(p)) == "null" {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid(p) {
		return nil, invalid("edge properties are not valid JSON")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, p); err != nil {
		return nil, invalid("edge properties: %v", err)
	}
	if buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return nil, invalid("edge properties must be a JSON object, got %s", short(buf.String()))
	}
	return buf.Bytes(), nil
}

func short(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q...", s[:40])
	}
	return fmt.Sprintf("%q", s)
}

func checkEdge(e Edge) error {
	if err := checkNode("from", e.From); err != nil {
		return err
	}
	if err := checkNode("to", e.To); err != nil {
		return err
	}
	return ValidateName("edge type", e.Type)
}

// AddEdge stores edge. If the edge (same from, type and to) exists, its
// properties are replaced and its Created time kept. The edge's records are
// written in one transaction.
func (g *Graph) AddEdge(ctx context.Context, edge Edge) error {
	return g.AddEdges(ctx, edge)
}

// AddEdges stores edges in one transaction: all of them or none. A later
// edge in the list replaces an earlier one with the same ends and type.
// Each edge costs about four record writes (its two records and the
// adjacency records of its ends); for bulk loads, pass about 1,000 edges
// per call.
func (g *Graph) AddEdges(ctx context.Context, edges ...Edge) error {
	if len(edges) == 0 {
		return nil
	}
	type item struct {
		e     Edge
		props json.RawMessage
	}
	items := make([]item, 0, len(edges))
	index := map[string]int{}
	for i, e := range edges {
		if err := checkEdge(e); err != nil {
			if len(edges) > 1 {
				return fmt.Errorf("edge %d: %w", i, err)
			}
			return err
		}
		p, err := normProps(e.Properties)
		if err != nil {
			if len(edges) > 1 {
				return fmt.Errorf("edge %d: %w", i, err)
			}
			return err
		}
		k := outKey(e.From, e.Type, e.To)
		if j, ok := index[k]; ok {
			items[j].props = p
			continue
		}
		index[k] = len(items)
		items = append(items, item{e: e, props: p})
	}
	return g.retry(ctx, "add edge", func() ([]kvcore.Mutation, error) {
		var keys []string
		for _, it := range items {
			e := it.e
			keys = append(keys, outKey(e.From, e.Type, e.To), inKey(e.From, e.Type, e.To), adjOutKey(e.From), adjInKey(e.To))
		}
		recs, err := g.getMap(ctx, keys)
		if err != nil {
			return nil, err
		}
		adj := newAdjSet(recs)
		var ms []kvcore.Mutation
		for _, it := range items {
			e := it.e
			ok, ik := outKey(e.From, e.Type, e.To), inKey(e.From, e.Type, e.To)
			ms = append(ms,
				kvcore.Put(ok, recs[ok].Version, it.props, kvcore.WithType(edgeTypePrefx+e.Type)),
				kvcore.Put(ik, recs[ik].Version, it.props, kvcore.WithType(recordTypeIn)))
			if err := adj.add(adjOutKey(e.From), edgeSuffix(e.Type, e.To)); err != nil {
				return nil, err
			}
			if err := adj.add(adjInKey(e.To), edgeSuffix(e.Type, e.From)); err != nil {
				return nil, err
			}
		}
		return append(ms, adj.mutations()...), nil
	})
}

// maxWriteRetries is how many times a write is rebuilt after meeting a
// concurrent write before it fails with ErrContention.
const maxWriteRetries = 100

// retry builds a batch from fresh reads and applies it, again from fresh
// reads if a concurrent writer changed a record that the batch depends on.
func (g *Graph) retry(ctx context.Context, op string, build func() ([]kvcore.Mutation, error)) error {
	for attempt := 0; ; attempt++ {
		ms, err := build()
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return nil
		}
		_, err = g.s.MutateAll(ctx, ms...)
		if err == nil {
			return nil
		}
		if !errors.Is(err, kvcore.ErrVersionMismatch) {
			return fmt.Errorf("kvgraph %s: %w", op, err)
		}
		if attempt >= maxWriteRetries {
			return fmt.Errorf("kvgraph %s: %w (%d attempts)", op, ErrContention, attempt+1)
		}
		d := time.Duration(attempt+1) * 500 * time.Microsecond
		if d > 50*time.Millisecond {
			d = 50 * time.Millisecond
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("kvgraph %s: %w", op, ctx.Err())
		case <-t.C:
		}
	}
}

// getMap reads keys (in batches) and returns the live records by key.
// A missing key maps to the zero Record (Version 0).
func (g *Graph) getMap(ctx context.Context, keys []string) (map[string]kvcore.Record, error) {
	out := make(map[string]kvcore.Record, len(keys))
	keys = uniq(keys)
	for start := 0; start < len(keys); start += g.batchSize {
		end := min(start+g.batchSize, len(keys))
		recs, err := g.s.GetBatch(ctx, keys[start:end]...)
		if err != nil {
			return nil, fmt.Errorf("kvgraph: %w", err)
		}
		for _, r := range recs {
			out[r.Key] = r
		}
	}
	return out, nil
}

func uniq(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := keys[:0:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// adjSet edits adjacency records read in one batch and turns the edits into
// mutations conditional on the versions read.
type adjSet struct {
	recs    map[string]kvcore.Record
	lists   map[string]map[string]bool
	changed map[string]bool
	order   []string
}

func newAdjSet(recs map[string]kvcore.Record) *adjSet {
	return &adjSet{recs: recs, lists: map[string]map[string]bool{}, changed: map[string]bool{}}
}

func (a *adjSet) list(key string) (map[string]bool, error) {
	if l, ok := a.lists[key]; ok {
		return l, nil
	}
	entries, err := decodeAdj(a.recs[key])
	if err != nil {
		return nil, err
	}
	l := make(map[string]bool, len(entries)+1)
	for _, e := range entries {
		l[e] = true
	}
	a.lists[key] = l
	a.order = append(a.order, key)
	return l, nil
}

func (a *adjSet) add(key, entry string) error {
	l, err := a.list(key)
	if err != nil {
		return err
	}
	if !l[entry] {
		l[entry] = true
		a.changed[key] = true
	}
	return nil
}

func (a *adjSet) remove(key, entry string) error {
	l, err := a.list(key)
	if err != nil {
		return err
	}
	if l[entry] {
		delete(l, entry)
		a.changed[key] = true
	}
	return nil
}

// drop deletes the whole adjacency record key.
func (a *adjSet) drop(key string) error {
	l, err := a.list(key)
	if err != nil {
		return err
	}
	clear(l)
	a.changed[key] = true
	return nil
}

func (a *adjSet) mutations() []kvcore.Mutation {
	var ms []kvcore.Mutation
	for _, key := range a.order {
		if !a.changed[key] {
			continue
		}
		v := a.recs[key].Version
		l := a.lists[key]
		if len(l) == 0 {
			if v > 0 {
				ms = append(ms, kvcore.DeleteVersion(key, v))
			}
			continue
		}
		entries := make([]string, 0, len(l))
		for e := range l {
			entries = append(entries, e)
		}
		sort.Strings(entries)
		ms = append(ms, kvcore.Put(key, v, entries, kvcore.WithType(recordTypeAdj)))
	}
	return ms
}

// decodeAdj returns the entries of an adjacency record (none if missing).
func decodeAdj(r kvcore.Record) ([]string, error) {
	if r.Version == 0 {
		return nil, nil
	}
	var entries []string
	if err := json.Unmarshal(r.Value, &entries); err != nil {
		return nil, fmt.Errorf("%w: adjacency record %q: %v", ErrCorrupt, r.Key, err)
	}
	return entries, nil
}

// GetEdge reads the edge from -> to of type edgeType.
func (g *Graph) GetEdge(ctx context.Context, from NodeRef, edgeType string, to NodeRef) (Edge, bool, error) {
	if err := checkEdge(Edge{From: from, To: to, Type: edgeType}); err != nil {
		return Edge{}, false, err
	}
	r, ok, err := g.s.Get(ctx, outKey(from, edgeType, to), nil)
	if err != nil || !ok {
		return Edge{}, false, wrapErr(err)
	}
	e, err := edgeFromRecord(r)
	return e, err == nil, err
}

func wrapErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("kvgraph: %w", err)
}

// edgeFromRecord decodes an out-record or in-record.
func edgeFromRecord(r kvcore.Record) (Edge, error) {
	from, t, to, err := parseEdgeKey(r.Key)
	if err != nil {
		return Edge{}, err
	}
	return Edge{From: from, To: to, Type: t, Properties: r.Value, Created: r.Created, Updated: r.Updated}, nil
}

// RemoveEdge removes the edge from -> to of type edgeType, in one
// transaction, and reports whether there was one to remove. Removing an
// edge that does not exist is not an error.
func (g *Graph) RemoveEdge(ctx context.Context, from NodeRef, edgeType string, to NodeRef) (bool, error) {
	if err := checkEdge(Edge{From: from, To: to, Type: edgeType}); err != nil {
		return false, err
	}
	ok, ik := outKey(from, edgeType, to), inKey(from, edgeType, to)
	var removed bool
	err := g.retry(ctx, "remove edge", func() ([]kvcore.Mutation, error) {
		recs, err := g.getMap(ctx, []string{ok, ik, adjOutKey(from), adjInKey(to)})
		if err != nil {
			return nil, err
		}
		removed = recs[ok].Version > 0 // the edge is its out-record (GetEdge)
		var ms []kvcore.Mutation
		for _, k := range []string{ok, ik} {
			if v := recs[k].Version; v > 0 {
				ms = append(ms, kvcore.DeleteVersion(k, v))
			}
		}
		adj := newAdjSet(recs)
		if err := adj.remove(adjOutKey(from), edgeSuffix(edgeType, to)); err != nil {
			return nil, err
		}
		if err := adj.remove(adjInKey(to), edgeSuffix(edgeType, from)); err != nil {
			return nil, err
		}
		return append(ms, adj.mutations()...), nil
	})
	if err != nil {
		return false, err
	}
	return removed, nil
}

// RemoveNode removes every edge into or out of node in one transaction and
// returns how many edges it removed.
func (g *Graph) RemoveNode(ctx context.Context, node NodeRef) (int, error) {
	if err := checkNode("node", node); err != nil {
		return 0, err
	}
	var removed int
	err := g.retry(ctx, "remove node", func() ([]kvcore.Mutation, error) {
		aout, ain := adjOutKey(node), adjInKey(node)
		own, err := g.getMap(ctx, []string{aout, ain})
		if err != nil {
			return nil, err
		}
		outs, err := decodeAdj(own[aout])
		if err != nil {
			return nil, err
		}
		ins, err := decodeAdj(own[ain])
		if err != nil {
			return nil, err
		}
		if len(outs) == 0 && len(ins) == 0 {
			removed = 0
			return nil, nil
		}
		type hop struct {
			edgeType string
			other    NodeRef
		}
		parse := func(entries []string) ([]hop, error) {
			hs := make([]hop, 0, len(entries))
			for _, s := range entries {
				t, n, err := parseSuffix(s)
				if err != nil {
					return nil, err
				}
				hs = append(hs, hop{t, n})
			}
			return hs, nil
		}
		outHops, err := parse(outs)
		if err != nil {
			return nil, err
		}
		inHops, err := parse(ins)
		if err != nil {
			return nil, err
		}
		// Read the neighbours' adjacency records, to edit them.
		nk := nodeKey(node)
		var keys []string
		for _, h := range outHops {
			if nodeKey(h.other) != nk {
				keys = append(keys, adjInKey(h.other))
			}
		}
		for _, h := range inHops {
			if nodeKey(h.other) != nk {
				keys = append(keys, adjOutKey(h.other))
			}
		}
		recs, err := g.getMap(ctx, keys)
		if err != nil {
			return nil, err
		}
		recs[aout], recs[ain] = own[aout], own[ain]
		adj := newAdjSet(recs)
		ms := []kvcore.Mutation{
			kvcore.DeletePrefix(prefixOut+nk+"/", 0, 0),
			kvcore.DeletePrefix(prefixIn+nk+"/", 0, 0),
		}
		selfLoops := 0
		for _, h := range outHops {
			if nodeKey(h.other) == nk {
				selfLoops++
				continue
			}
			ms = append(ms, kvcore.Delete(inKey(node, h.edgeType, h.other)))
			if err := adj.remove(adjInKey(h.other), edgeSuffix(h.edgeType, node)); err != nil {
				return nil, err
			}
		}
		for _, h := range inHops {
			if nodeKey(h.other) == nk {
				continue
			}
			ms = append(ms, kvcore.Delete(outKey(h.other, h.edgeType, node)))
			if err := adj.remove(adjOutKey(h.other), edgeSuffix(h.edgeType, node)); err != nil {
				return nil, err
			}
		}
		if err := adj.drop(aout); err != nil {
			return nil, err
		}
		if err := adj.drop(ain); err != nil {
			return nil, err
		}
		removed = len(outHops) + len(inHops) - selfLoops
		return append(ms, adj.mutations()...), nil
	})
	if err != nil {
		return 0, err
	}
	return removed, nil
}

// edgeTypePrefixes returns the key prefixes under base for the given edge
// types (all types if none, or if one of them is "" or "*"), in key order.
func edgeTypePrefixes(base string, edgeTypes []string) ([]string, error) {
	if allTypes(edgeTypes) {
		return []string{base}, nil
	}
	var ps []string
	for _, t := range edgeTypes {
		if err := ValidateName("edge type", t); err != nil {
			return nil, err
		}
		ps = append(ps, base+escape(t)+"/")
	}
	slices.Sort(ps)
	return slices.Compact(ps), nil
}

// allTypes reports whether an edge-type filter means every type.
func allTypes(edgeTypes []string) bool {
	return len(edgeTypes) == 0 || slices.ContainsFunc(edgeTypes, func(t string) bool { return named(t) == "" })
}

// named returns s, or "" if s is "" or "*" (which mean any name).
func named(s string) string {
	if s == "*" {
		return ""
	}
	return s
}

// GetOutgoing iterates over the edges out of node, of the given edge types
// (all types if none are given, or "*"), ordered by edge type, then target
// type, then target id (by their escaped bytes). It pages by key, so each
// page costs the same however far in it is.
func (g *Graph) GetOutgoing(ctx context.Context, node NodeRef, edgeTypes ...string) iter.Seq2[Edge, error] {
	return g.scanEdges(ctx, prefixOut, node, edgeTypes)
}

// GetIncoming iterates over the edges into node, of the given edge types
// (all if none, or "*"), ordered by edge type, then source type, then source id.
func (g *Graph) GetIncoming(ctx context.Context, node NodeRef, edgeTypes ...string) iter.Seq2[Edge, error] {
	return g.scanEdges(ctx, prefixIn, node, edgeTypes)
}

func (g *Graph) scanEdges(ctx context.Context, base string, node NodeRef, edgeTypes []string) iter.Seq2[Edge, error] {
	return func(yield func(Edge, error) bool) {
		if err := checkNode("node", node); err != nil {
			yield(Edge{}, err)
			return
		}
		prefixes, err := edgeTypePrefixes(base+nodeKey(node)+"/", edgeTypes)
		if err != nil {
			yield(Edge{}, err)
			return
		}
		for _, p := range prefixes {
			for r, err := range g.s.AllPrefix(ctx, p) {
				if err != nil {
					yield(Edge{}, wrapErr(err))
					return
				}
				e, err := edgeFromRecord(r)
				if !yield(e, err) || err != nil {
					return
				}
			}
		}
	}
}

// ListOutgoing returns the edges out of node of edgeType ("" or "*": all
// types) in the order of GetOutgoing, skipping offset and returning at most
// limit (0: no limit).
func (g *Graph) ListOutgoing(ctx context.Context, node NodeRef, edgeType string, offset, limit int) ([]Edge, error) {
	return g.listEdges(ctx, prefixOut, node, edgeType, offset, limit)
}

// ListIncoming returns the edges into node of edgeType ("" or "*": all
// types) in the order of GetIncoming, skipping offset and returning at most
// limit (0: no limit).
func (g *Graph) ListIncoming(ctx context.Context, node NodeRef, edgeType string, offset, limit int) ([]Edge, error) {
	return g.listEdges(ctx, prefixIn, node, edgeType, offset, limit)
}

func (g *Graph) listEdges(ctx context.Context, base string, node NodeRef, edgeType string, offset, limit int) ([]Edge, error) {
	if err := checkNode("node", node); err != nil {
		return nil, err
	}
	ps, err := edgeTypePrefixes(base+nodeKey(node)+"/", []string{edgeType})
	if err != nil {
		return nil, err
	}
	recs, err := g.s.GetPrefix(ctx, ps[0], offset, limit)
	if err != nil {
		return nil, wrapErr(err)
	}
	return edgesFromRecords(recs)
}

func edgesFromRecords(recs []kvcore.Record) ([]Edge, error) {
	out := make([]Edge, 0, len(recs))
	for _, r := range recs {
		e, err := edgeFromRecord(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// OutDegree counts the edges out of node of edgeType ("" or "*": all types).
func (g *Graph) OutDegree(ctx context.Context, node NodeRef, edgeType string) (int, error) {
	return g.degree(ctx, prefixOut, node, edgeType)
}

// InDegree counts the edges into node of edgeType ("" or "*": all types).
func (g *Graph) InDegree(ctx context.Context, node NodeRef, edgeType string) (int, error) {
	return g.degree(ctx, prefixIn, node, edgeType)
}

func (g *Graph) degree(ctx context.Context, base string, node NodeRef, edgeType string) (int, error) {
	if err := checkNode("node", node); err != nil {
		return 0, err
	}
	ps, err := edgeTypePrefixes(base+nodeKey(node)+"/", []string{edgeType})
	if err != nil {
		return 0, err
	}
	n, err := g.s.CountPrefix(ctx, ps[0])
	return n, wrapErr(err)
}

// All iterates over every edge, ordered by source type, source id, edge
// type, target type and target id.
func (g *Graph) All(ctx context.Context) iter.Seq2[Edge, error] {
	return g.scanRecords(g.s.AllPrefix(ctx, prefixOut))
}

// AllOfType iterates over every edge of type edgeType, in the order of All.
// It reads the store's type index, not the whole graph.
func (g *Graph) AllOfType(ctx context.Context, edgeType string) iter.Seq2[Edge, error] {
	if err := ValidateName("edge type", edgeType); err != nil {
		return func(yield func(Edge, error) bool) { yield(Edge{}, err) }
	}
	return g.scanRecords(g.s.AllType(ctx, edgeTypePrefx+edgeType))
}

// AllFromType iterates over the edges out of nodes of type nodeType, in the
// order of All.
func (g *Graph) AllFromType(ctx context.Context, nodeType string) iter.Seq2[Edge, error] {
	if err := ValidateName("node type", nodeType); err != nil {
		return func(yield func(Edge, error) bool) { yield(Edge{}, err) }
	}
	return g.scanRecords(g.s.AllPrefix(ctx, prefixOut+escape(nodeType)+"/"))
}

// AllToType iterates over the edges into nodes of type nodeType, ordered by
// target id, edge type, source type and source id.
func (g *Graph) AllToType(ctx context.Context, nodeType string) iter.Seq2[Edge, error] {
	if err := ValidateName("node type", nodeType); err != nil {
		return func(yield func(Edge, error) bool) { yield(Edge{}, err) }
	}
	return g.scanRecords(g.s.AllPrefix(ctx, prefixIn+escape(nodeType)+"/"))
}

func (g *Graph) scanRecords(seq iter.Seq2[kvcore.Record, error]) iter.Seq2[Edge, error] {
	return func(yield func(Edge, error) bool) {
		for r, err := range seq {
			if err != nil {
				yield(Edge{}, wrapErr(err))
				return
			}
			e, err := edgeFromRecord(r)
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// CountEdges returns the number of edges in the graph.
func (g *Graph) CountEdges(ctx context.Context) (int, error) {
	n, err := g.s.CountPrefix(ctx, prefixOut)
	return n, wrapErr(err)
}
