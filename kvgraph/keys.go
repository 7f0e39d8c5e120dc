package kvgraph

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kvsuite/kv/kvcore"
)

// Key layout (all in the graph's namespace, "kvgraph" by default).
//
// Every name (node type, node id, edge type) is escaped before it becomes a
// key component: "%" is written "%25" and "/" is written "%2F"; nothing else
// changes (spaces and non-ASCII stay as they are). An escaped component
// therefore never contains "/", so "/" separates components unambiguously
// and a prefix that ends in "/" matches whole components only ("User/" never
// matches "Users/...").
//
//	e/<fromType>/<fromID>/<edgeType>/<toType>/<toID>   out-record: value = properties
//	r/<toType>/<toID>/<edgeType>/<fromType>/<fromID>   in-record:  value = properties
//	ao/<type>/<id>   out-adjacency: JSON array of "<edgeType>/<toType>/<toID>", sorted
//	ai/<type>/<id>   in-adjacency:  JSON array of "<edgeType>/<fromType>/<fromID>", sorted
//
// The out- and in-records of an edge and both adjacency records are written
// in one MutateAll, so they always agree. Outgoing and incoming listings are
// prefix scans of e/ and r/; traversals read the adjacency records of a
// whole frontier with one GetBatch.
//
// The kvcore record type of an out-record is "edge/<edgeType>" (unescaped),
// so all edges of one type are read from the store's type index.
const (
	prefixOut    = "e/"
	prefixIn     = "r/"
	prefixAdjOut = "ao/"
	prefixAdjIn  = "ai/"

	recordTypeIn  = "kvgraph.in-edge"
	recordTypeAdj = "kvgraph.adjacency"
	edgeTypePrefx = "edge/"
)

var (
	escaper   = strings.NewReplacer("%", "%25", "/", "%2F")
	unescaper = strings.NewReplacer("%2F", "/", "%25", "%")
)

// escape makes a name safe as one key component.
func escape(s string) string {
	if !strings.ContainsAny(s, "%/") {
		return s
	}
	return escaper.Replace(s)
}

// unescape reverses escape. It fails on a "%" that escape cannot have made.
func unescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && !(strings.HasPrefix(s[i:], "%25") || strings.HasPrefix(s[i:], "%2F")) {
			return "", fmt.Errorf("%w: bad escape in key component %q", ErrCorrupt, s)
		}
	}
	return unescaper.Replace(s), nil
}

// nodeKey is the key form of a node: <type>/<id>, escaped.
func nodeKey(n NodeRef) string { return escape(n.Type) + "/" + escape(n.ID) }

// edgeSuffix is the adjacency entry for a hop to other via edgeType.
func edgeSuffix(edgeType string, other NodeRef) string {
	return escape(edgeType) + "/" + nodeKey(other)
}

func outKey(from NodeRef, edgeType string, to NodeRef) string {
	return prefixOut + nodeKey(from) + "/" + edgeSuffix(edgeType, to)
}

func inKey(from NodeRef, edgeType string, to NodeRef) string {
	return prefixIn + nodeKey(to) + "/" + edgeSuffix(edgeType, from)
}

func adjOutKey(n NodeRef) string { return prefixAdjOut + nodeKey(n) }
func adjInKey(n NodeRef) string  { return prefixAdjIn + nodeKey(n) }

// parseSuffix splits an adjacency entry into its edge type and node.
func parseSuffix(s string) (string, NodeRef, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return "", NodeRef{}, fmt.Errorf("%w: adjacency entry %q", ErrCorrupt, s)
	}
	var out [3]string
	for i, p := range parts {
		u, err := unescape(p)
		if err != nil {
			return "", NodeRef{}, err
		}
		out[i] = u
	}
	return out[0], NodeRef{Type: out[1], ID: out[2]}, nil
}

// parseEdgeKey turns an out-record (e/) or in-record (r/) key back into the
// edge's ends and type.
func parseEdgeKey(key string) (from NodeRef, edgeType string, to NodeRef, err error) {
	parts := strings.Split(key, "/")
	if len(parts) != 6 || (parts[0] != "e" && parts[0] != "r") {
		return from, "", to, fmt.Errorf("%w: edge key %q", ErrCorrupt, key)
	}
	var u [5]string
	for i, p := range parts[1:] {
		if u[i], err = unescape(p); err != nil {
			return from, "", to, err
		}
	}
	a, b := NodeRef{Type: u[0], ID: u[1]}, NodeRef{Type: u[3], ID: u[4]}
	if parts[0] == "r" {
		a, b = b, a
	}
	return a, u[2], b, nil
}

// MaxNameLen is the longest node type, node id or edge type, in bytes after
// escaping ("%" and "/" count three bytes each), so that every key the graph
// makes (five names) fits in kvcore.MaxKeyLen.
const MaxNameLen = 200

// ValidateName reports whether s is acceptable as a node type, node id or
// edge type: non-empty UTF-8 without NUL, at most MaxNameLen bytes after
// escaping. what names s in the error, which wraps
// kvcore.ErrInvalidArgument.
func ValidateName(what, s string) error {
	switch {
	case s == "":
		return invalid("%s is empty", what)
	case !utf8.ValidString(s):
		return invalid("%s %q is not valid UTF-8", what, s)
	case strings.IndexByte(s, 0) >= 0:
		return invalid("%s %q contains a NUL byte", what, s)
	case len(escape(s)) > MaxNameLen:
		return invalid("%s is too long (%d bytes after escaping; at most %d, where %% and / count 3)", what, len(escape(s)), MaxNameLen)
	}
	return nil
}

func checkNode(what string, n NodeRef) error {
	if err := ValidateName(what+" type", n.Type); err != nil {
		return err
	}
	return ValidateName(what+" id", n.ID)
}

// invalid builds an error that wraps kvcore.ErrInvalidArgument.
func invalid(format string, args ...any) error {
	return fmt.Errorf("kvgraph: %w: %s", kvcore.ErrInvalidArgument, fmt.Sprintf(format, args...))
}
