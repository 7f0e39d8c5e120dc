package kvgraph

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"unicode/utf8"
)

// Subgraph is a set of nodes and the edges between them, ready to render.
type Subgraph struct {
	Nodes []NodeRef `json:"nodes"`
	Edges []Edge    `json:"edges"`
}

// RenderOption configures WriteDOT and WriteMermaid.
type RenderOption func(*renderConfig)

type renderConfig struct {
	props    bool
	maxLabel int
}

// WithoutProperties leaves edge properties out of the labels.
func WithoutProperties() RenderOption { return func(c *renderConfig) { c.props = false } }

// WithMaxLabel cuts each label to at most n characters (default 200; 0: no limit).
func WithMaxLabel(n int) RenderOption {
	return func(c *renderConfig) {
		if n >= 0 {
			c.maxLabel = n
		}
	}
}

func renderOpts(opts []RenderOption) renderConfig {
	c := renderConfig{props: true, maxLabel: 200}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// layout gives every node of a subgraph a number, in a stable order:
// nodes sorted by type then id, edges sorted by source, type, target.
func (s Subgraph) layout() ([]NodeRef, map[NodeRef]int, []Edge) {
	set := map[NodeRef]bool{}
	for _, n := range s.Nodes {
		set[n] = true
	}
	for _, e := range s.Edges {
		set[e.From], set[e.To] = true, true
	}
	nodes := make([]NodeRef, 0, len(set))
	for n := range set {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool {
		if nodes[i].Type != nodes[j].Type {
			return nodes[i].Type < nodes[j].Type
		}
		return nodes[i].ID < nodes[j].ID
	})
	ids := make(map[NodeRef]int, len(nodes))
	for i, n := range nodes {
		ids[n] = i
	}
	edges := append([]Edge(nil), s.Edges...)
	sort.SliceStable(edges, func(i, j int) bool {
		return outKey(edges[i].From, edges[i].Type, edges[i].To) < outKey(edges[j].From, edges[j].Type, edges[j].To)
	})
	return nodes, ids, edges
}

func edgeLabel(e Edge, c renderConfig) string {
	l := e.Type
	if c.props && len(e.Properties) > 0 && string(e.Properties) != "{}" {
		l += "\n" + string(e.Properties)
	}
	return cut(l, c.maxLabel)
}

// cut shortens s to at most n runes, marking the cut with "...".
func cut(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n <= 3 {
		return string(r[:n])
	}
	return string(r[:n-3]) + "..."
}

// WriteDOT writes edges as a Graphviz DOT digraph. Nodes get generated ids
// (n0, n1, ...) and are labelled "Type:ID"; edges are labelled with their
// type and properties. Every label is escaped so that `dot` accepts it
// whatever the names and properties contain.
func WriteDOT(w io.Writer, edges []Edge, opts ...RenderOption) error {
	return Subgraph{Edges: edges}.WriteDOT(w, opts...)
}

// WriteDOT writes the subgraph as a Graphviz DOT digraph (see WriteDOT).
func (s Subgraph) WriteDOT(w io.Writer, opts ...RenderOption) error {
	c := renderOpts(opts)
	nodes, ids, edges := s.layout()
	bw := bufio.NewWriter(w)
	bw.WriteString("digraph G {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n")
	for i, n := range nodes {
		fmt.Fprintf(bw, "  n%d [label=%s];\n", i, dotQuote(cut(n.String(), c.maxLabel)))
	}
	for _, e := range edges {
		fmt.Fprintf(bw, "  n%d -> n%d [label=%s];\n", ids[e.From], ids[e.To], dotQuote(edgeLabel(e, c)))
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// dotQuote returns s as a DOT double-quoted string whose label text is s:
// backslash and quote are escaped, a line break becomes \n, and other
// control characters are shown as \uXXXX text.
func dotQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			// dropped: \r\n is one line break
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			fmt.Fprintf(&b, `\\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// WriteMermaid writes edges as a Mermaid flowchart (see Subgraph.WriteMermaid).
func WriteMermaid(w io.Writer, edges []Edge, opts ...RenderOption) error {
	return Subgraph{Edges: edges}.WriteMermaid(w, opts...)
}

// WriteMermaid writes the subgraph as a Mermaid flowchart. Nodes get
// generated ids (n0, n1, ...), so no name can clash with Mermaid's keywords
// (end, graph, subgraph, ...); every label is a quoted string in which
// quotes, #, <, >, &, |, ` and control characters are written as Mermaid
// entity codes (#quot;, #35;, ...) and line breaks as <br>.
func (s Subgraph) WriteMermaid(w io.Writer, opts ...RenderOption) error {
	c := renderOpts(opts)
	nodes, ids, edges := s.layout()
	bw := bufio.NewWriter(w)
	bw.WriteString("flowchart LR\n")
	for i, n := range nodes {
		fmt.Fprintf(bw, "  n%d[\"%s\"]\n", i, MermaidEscape(cut(n.String(), c.maxLabel)))
	}
	for _, e := range edges {
		fmt.Fprintf(bw, "  n%d -->|\"%s\"| n%d\n", ids[e.From], MermaidEscape(edgeLabel(e, c)), ids[e.To])
	}
	return bw.Flush()
}

// MermaidEscape escapes s for the inside of a quoted Mermaid label.
// Leading and trailing spaces are written #32; because Mermaid trims labels.
// The result holds no quote, pipe, backtick, angle bracket (except <br>)
// or control character.
func MermaidEscape(s string) string {
	var b strings.Builder
	lead := len(s) - len(strings.TrimLeft(s, " "))
	trail := len(strings.TrimRight(s, " "))
	for i, r := range s {
		switch {
		case r == ' ' && (i < lead || i >= trail):
			b.WriteString("#32;")
		case r == '"':
			b.WriteString("#quot;")
		case r == '#':
			b.WriteString("#35;")
		case r == '&':
			b.WriteString("#amp;")
		case r == '<':
			b.WriteString("#lt;")
		case r == '>':
			b.WriteString("#gt;")
		case r == '|':
			b.WriteString("#124;")
		case r == '`':
			b.WriteString("#96;")
		case r == '\n':
			b.WriteString("<br>")
		case r == '\r':
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	// Mermaid drops the last ";" of a line on which "style" or "classDef"
	// is followed by ":" and "#" (it takes them for colour codes): never
	// write those words as they are.
	return mermaidWords.Replace(b.String())
}

var mermaidWords = strings.NewReplacer("style", "#115;tyle", "classDef", "#99;lassDef")

// Format is an output format for View.
type Format string

// Formats.
const (
	FormatDOT     Format = "dot"
	FormatMermaid Format = "mermaid"
)

// ParseFormat parses "dot" (or "") or "mermaid" (also "mmd").
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "dot", "graphviz", "gv":
		return FormatDOT, nil
	case "mermaid", "mmd":
		return FormatMermaid, nil
	}
	return "", invalid("format %q: want dot or mermaid", s)
}

// ParseProperties parses edge properties given as text (for example on a
// command line): "" means none; anything else must be a JSON object.
func ParseProperties(s string) (json.RawMessage, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	return normProps(json.RawMessage(s))
}

// ViewOptions select the part of the graph that Subgraph and View show.
type ViewOptions struct {
	// NodeType and NodeID choose where to look. Both empty (or "*"): the
	// whole graph. NodeType only: the edges into and out of nodes of that
	// type. Both: the neighbourhood of that node, Depth hops deep.
	NodeType string
	NodeID   string
	// Depth is the neighbourhood depth when a node is given (default 1).
	Depth int
	// Direction is which edges the neighbourhood follows (default Both).
	Direction *Direction
	// EdgeTypes keeps only these edge types (none or "*": all).
	EdgeTypes []string
	// MaxEdges fails the view with ErrTraversalLimit if it would hold more
	// edges (0: no limit).
	MaxEdges int
}

// ParseViewNode turns command-line node arguments into ViewOptions fields:
// "*" or "" means any.
func ParseViewNode(nodeType, nodeID string) (ViewOptions, error) {
	v := ViewOptions{NodeType: named(nodeType), NodeID: named(nodeID)}
	return v, v.check()
}

func (v ViewOptions) check() error {
	if v.Depth < 0 {
		return invalid("depth %d is negative", v.Depth)
	}
	if v.MaxEdges < 0 {
		return invalid("max edges %d is negative", v.MaxEdges)
	}
	nodeType, nodeID := named(v.NodeType), named(v.NodeID)
	if nodeType != "" {
		if err := ValidateName("node type", nodeType); err != nil {
			return err
		}
	}
	if nodeID != "" {
		if nodeType == "" {
			return invalid("a node id (%q) needs a node type", nodeID)
		}
		if err := ValidateName("node id", nodeID); err != nil {
			return err
		}
	}
	return nil
}

// Subgraph reads the part of the graph that v selects.
func (g *Graph) Subgraph(ctx context.Context, v ViewOptions) (Subgraph, error) {
	if err := v.check(); err != nil {
		return Subgraph{}, err
	}
	types, err := TraversalOptions{EdgeTypes: v.EdgeTypes}.check()
	if err != nil {
		return Subgraph{}, err
	}
	keep := func(e Edge) bool { return types == nil || types[e.Type] }
	var sg Subgraph
	add := func(e Edge) error {
		sg.Edges = append(sg.Edges, e)
		if v.MaxEdges > 0 && len(sg.Edges) > v.MaxEdges {
			return fmt.Errorf("%w: the view holds more than %d edges", ErrTraversalLimit, v.MaxEdges)
		}
		return nil
	}
	nodeType, nodeID := named(v.NodeType), named(v.NodeID)
	switch {
	case nodeType == "":
		seqs := []func(yield func(Edge, error) bool){g.All(ctx)}
		if types != nil {
			seqs = nil
			for t := range types {
				seqs = append(seqs, g.AllOfType(ctx, t))
			}
		}
		for _, seq := range seqs {
			for e, err := range seq {
				if err != nil {
					return Subgraph{}, err
				}
				if err := add(e); err != nil {
					return Subgraph{}, err
				}
			}
		}
	case nodeID == "":
		seen := map[string]bool{}
		for _, seq := range []func(yield func(Edge, error) bool){g.AllFromType(ctx, nodeType), g.AllToType(ctx, nodeType)} {
			for e, err := range seq {
				if err != nil {
					return Subgraph{}, err
				}
				k := outKey(e.From, e.Type, e.To)
				if !keep(e) || seen[k] {
					continue
				}
				seen[k] = true
				if err := add(e); err != nil {
					return Subgraph{}, err
				}
			}
		}
	default:
		start := NodeRef{Type: nodeType, ID: nodeID}
		depth := v.Depth
		if depth == 0 {
			depth = 1
		}
		dir := Both
		if v.Direction != nil {
			dir = *v.Direction
		}
		refs, err := g.neighbourhoodEdges(ctx, start, depth, dir, types, v.MaxEdges)
		if err != nil {
			return Subgraph{}, err
		}
		edges, err := g.fetchEdges(ctx, refs)
		if err != nil {
			return Subgraph{}, err
		}
		sg.Nodes = []NodeRef{start}
		sg.Edges = edges
	}
	sg.Nodes, _, sg.Edges = sg.layout()
	return sg, nil
}

// neighbourhoodEdges returns the edges met by a BFS of depth hops: every
// edge at a node nearer than depth, including edges between nodes already
// seen (so cycles show).
func (g *Graph) neighbourhoodEdges(ctx context.Context, start NodeRef, depth int, dir Direction, types map[string]bool, maxEdges int) ([]EdgeRef, error) {
	visited := map[string]bool{nodeKey(start): true}
	seen := map[string]bool{}
	var refs []EdgeRef
	frontier := []NodeRef{start}
	for d := 0; d < depth && len(frontier) > 0; d++ {
		hops, err := g.neighbours(ctx, frontier, dir, types)
		if err != nil {
			return nil, err
		}
		var next []NodeRef
		for _, n := range frontier {
			for _, h := range hops[nodeKey(n)] {
				k := outKey(h.edge.From, h.edge.Type, h.edge.To)
				if !seen[k] {
					seen[k] = true
					refs = append(refs, h.edge)
					if maxEdges > 0 && len(refs) > maxEdges {
						return nil, fmt.Errorf("%w: the view holds more than %d edges", ErrTraversalLimit, maxEdges)
					}
				}
				if !visited[h.key] {
					visited[h.key] = true
					next = append(next, h.to)
				}
			}
		}
		frontier = next
	}
	return refs, nil
}

// View writes the part of the graph that v selects in format f.
func (g *Graph) View(ctx context.Context, w io.Writer, f Format, v ViewOptions, opts ...RenderOption) error {
	if f == "" {
		f = FormatDOT
	}
	if f != FormatDOT && f != FormatMermaid {
		return invalid("format %q: want dot or mermaid", string(f))
	}
	sg, err := g.Subgraph(ctx, v)
	if err != nil {
		return err
	}
	if f == FormatMermaid {
		return sg.WriteMermaid(w, opts...)
	}
	return sg.WriteDOT(w, opts...)
}

// ErrGraphvizNotFound: RenderDOT needs Graphviz's `dot` program on PATH.
var ErrGraphvizNotFound = errors.New("kvgraph: Graphviz `dot` not found on PATH; install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; see https://graphviz.org/download/)")

// renderFormats are the output formats RenderDOT accepts.
var renderFormats = map[string]bool{"svg": true, "png": true, "pdf": true, "jpg": true, "jpeg": true, "gif": true, "json": true, "plain": true, "dot": true, "xdot": true}

// RenderDOT runs Graphviz `dot` on the DOT text in src and writes the result
// in format (svg, png, pdf, jpg, gif, json, plain, dot or xdot) to w. Without
// Graphviz it returns ErrGraphvizNotFound, which says how to install it.
func RenderDOT(ctx context.Context, w io.Writer, src io.Reader, format string) error {
	format = strings.ToLower(strings.TrimSpace(format))
	if !renderFormats[format] {
		return invalid("render format %q: want one of svg, png, pdf, jpg, gif, json, plain, dot, xdot", format)
	}
	path, err := exec.LookPath("dot")
	if err != nil {
		return ErrGraphvizNotFound
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "-T"+format)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = src, w, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[:500] + "..."
		}
		return fmt.Errorf("kvgraph: dot -T%s: %v: %s", format, err, msg)
	}
	return nil
}

// Render writes the subgraph rendered by Graphviz in format (see RenderDOT).
func (s Subgraph) Render(ctx context.Context, w io.Writer, format string, opts ...RenderOption) error {
	var buf bytes.Buffer
	if err := s.WriteDOT(&buf, opts...); err != nil {
		return err
	}
	return RenderDOT(ctx, w, &buf, format)
}
