package kvweb

import (
	"bytes"
	"errors"
	"net/http"
	"os/exec"
	"slices"
	"strconv"

	"github.com/kvsuite/kv/kvgraph"
)

// Bounds of the Graph page.
const (
	maxDepth     = 5   // hops of a neighbourhood
	maxViewEdges = 500 // edges in a picture
	nodeSample   = 200 // edges read to list nodes to pick from
)

// graphData is what the Graph page shows.
type graphData struct {
	Configured bool
	Type, ID   string
	Depth      int64
	Depths     []int64
	Nodes      []nodeRow // nodes to pick from
	Edges      []kvgraph.Edge
	Picked     bool
	SVG        string // the picture's link, when Graphviz renders it
	Mermaid    string // else the Mermaid text
}

// nodeRow is a node to pick.
type nodeRow struct {
	kvgraph.NodeRef
	Link string
}

// graphQuery reads the node and depth parameters.
func graphQuery(r *http.Request) (typ, id string, depth int64, err error) {
	p, err := parseQuery(r, "type", "id", "depth")
	if err != nil {
		return "", "", 0, err
	}
	if typ, err = p.graphName("type"); err != nil {
		return "", "", 0, err
	}
	if id, err = p.graphName("id"); err != nil {
		return "", "", 0, err
	}
	if (typ == "") != (id == "") {
		return "", "", 0, badRequest("parameters \"type\" and \"id\" name a node together: give both or neither")
	}
	depth, err = p.int("depth", 1, 1, maxDepth)
	return typ, id, depth, err
}

func (h *Handler) graph(w http.ResponseWriter, r *http.Request) error {
	typ, id, depth, err := graphQuery(r)
	if err != nil {
		return err
	}
	d := graphData{Configured: h.cfg.Graph != nil, Type: typ, ID: id, Depth: depth, Depths: []int64{1, 2, 3, 4, 5}, Picked: id != ""}
	g := h.cfg.Graph
	if g == nil {
		h.render(w, r, http.StatusOK, "graph", "Graph", d)
		return nil
	}
	ctx := r.Context()
	seen := map[kvgraph.NodeRef]bool{}
	n := 0
	for e, err := range g.All(ctx) {
		if err != nil {
			return err
		}
		for _, node := range []kvgraph.NodeRef{e.From, e.To} {
			if !seen[node] {
				seen[node] = true
				d.Nodes = append(d.Nodes, nodeRow{NodeRef: node, Link: link("graph", "type", node.Type, "id", node.ID)})
			}
		}
		if n++; n == nodeSample {
			break
		}
	}
	slices.SortFunc(d.Nodes, func(a, b nodeRow) int { return compareNodes(a.NodeRef, b.NodeRef) })
	if d.Picked {
		sg, err := g.Subgraph(ctx, neighbourhood(typ, id, depth))
		if err != nil {
			return err
		}
		d.Edges = sg.Edges
		if _, err := exec.LookPath("dot"); err == nil {
			d.SVG = link("graph.svg", "type", typ, "id", id, "depth", strconv.FormatInt(depth, 10))
		} else {
			var buf bytes.Buffer
			if err := sg.WriteMermaid(&buf); err != nil {
				return err
			}
			d.Mermaid = buf.String()
		}
	}
	h.render(w, r, http.StatusOK, "graph", "Graph", d)
	return nil
}

// graphSVG is a node's neighbourhood drawn by Graphviz, as SVG.
func (h *Handler) graphSVG(w http.ResponseWriter, r *http.Request) error {
	typ, id, depth, err := graphQuery(r)
	if err != nil {
		return err
	}
	if id == "" {
		return badRequest("parameters \"type\" and \"id\" are missing")
	}
	if h.cfg.Graph == nil {
		return errorf(http.StatusNotFound, "no graph configured")
	}
	sg, err := h.cfg.Graph.Subgraph(r.Context(), neighbourhood(typ, id, depth))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := sg.Render(r.Context(), &buf, "svg"); err != nil {
		if errors.Is(err, kvgraph.ErrGraphvizNotFound) {
			err = errorf(http.StatusNotFound, "%v", err)
		}
		return err
	}
	// Loaded as an image, an SVG runs no script; the policy says so for a
	// direct visit too.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
	return nil
}

// neighbourhood is the view of a node's neighbourhood, depth hops deep, both ways.
func neighbourhood(typ, id string, depth int64) kvgraph.ViewOptions {
	return kvgraph.ViewOptions{NodeType: typ, NodeID: id, Depth: int(depth), MaxEdges: maxViewEdges}
}

// compareNodes orders nodes by type, then id.
func compareNodes(a, b kvgraph.NodeRef) int {
	if a.Type != b.Type {
		if a.Type < b.Type {
			return -1
		}
		return 1
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}
