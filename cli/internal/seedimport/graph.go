package seedimport

import (
	"encoding/json"
	"net/url"
	"strings"
)

// a-h/kv's graph package kept each edge as records of the kv table: the
// edge under graph/edge/<from-type>/<from-id>/<edge-type>/<to-type>/<to-id>
// (type "Edge", value {"from":{"id","type"},"to":{"id","type"},"type",
// "data"}), and two index records under graph/node/<type>/<id>/outgoing/...
// and .../incoming/... (type "EdgeRef"), each part of the key path-escaped.

// GraphKind says what a record is to a-h/kv's graph package.
type GraphKind int

const (
	// NotGraph: an ordinary record.
	NotGraph GraphKind = iota
	// GraphEdge: an edge record (see Edge).
	GraphEdge
	// GraphIndex: an index record, derived from an edge record.
	GraphIndex
)

// Edge is an edge of a-h/kv's graph package.
type Edge struct {
	FromType, FromID, Type, ToType, ToID string
	Data                                 json.RawMessage // the edge's properties; nil if none
}

// Graph reports what r is to a-h/kv's graph package, and the edge of an
// edge record. A record counts as the graph's only if its key, its type and
// its value all have the graph's shape (an edge record's value names the
// edge its key names); any other record, even under graph/, is ordinary.
func Graph(r Record) (Edge, GraphKind) {
	switch {
	case r.Type == "Edge" && strings.HasPrefix(r.Key, "graph/edge/"):
		var v struct {
			From struct{ ID, Type string } `json:"from"`
			To   struct{ ID, Type string } `json:"to"`
			Type string                    `json:"type"`
			Data json.RawMessage           `json:"data"`
		}
		if json.Unmarshal(r.Value, &v) != nil {
			return Edge{}, NotGraph
		}
		e := Edge{FromType: v.From.Type, FromID: v.From.ID, Type: v.Type, ToType: v.To.Type, ToID: v.To.ID, Data: v.Data}
		if string(e.Data) == "null" {
			e.Data = nil
		}
		if r.Key != "graph/edge/"+escaped(e.FromType, e.FromID, e.Type, e.ToType, e.ToID) {
			return Edge{}, NotGraph
		}
		return e, GraphEdge
	case r.Type == "EdgeRef" && strings.HasPrefix(r.Key, "graph/node/"):
		parts := strings.Split(strings.TrimPrefix(r.Key, "graph/node/"), "/")
		if len(parts) != 6 || (parts[2] != "outgoing" && parts[2] != "incoming") {
			return Edge{}, NotGraph
		}
		var v struct {
			Node     *struct{ ID, Type string } `json:"node"`
			EdgeType *string                    `json:"edgeType"`
		}
		if json.Unmarshal(r.Value, &v) != nil || v.Node == nil || v.EdgeType == nil ||
			parts[3] != url.PathEscape(*v.EdgeType) || parts[4] != url.PathEscape(v.Node.Type) || parts[5] != url.PathEscape(v.Node.ID) {
			return Edge{}, NotGraph
		}
		return Edge{}, GraphIndex
	}
	return Edge{}, NotGraph
}

// escaped joins parts with "/", each path-escaped.
func escaped(parts ...string) string {
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
