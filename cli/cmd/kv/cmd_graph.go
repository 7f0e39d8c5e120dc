package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
)

func (a *app) graphCommand() *ffcli.Command {
	return a.command(spec{
		path:  "graph",
		short: "Typed edges between entities.",
		long: `A directed graph of typed edges between entities, each named by a type and an
id (e.g. User alice). Edges have a type and JSON object properties. The graph
keeps its records in the store's own "kvgraph" namespace, whatever --namespace
says, so "kv list" shows only your keys. Edges are printed as JSON:
{"from":{"type":...,"id":...},"to":{"type":...,"id":...},"type":...,
"properties":{...},"created":...,"updated":...}
Types, ids and edge types are any UTF-8 text without NUL of at most 200 bytes
(where "%" and "/" count 3).`,
		subs: []*ffcli.Command{
			a.graphAddEdgeCommand(),
			a.graphGetEdgeCommand(),
			a.graphGetOutgoingCommand(),
			a.graphGetIncomingCommand(),
			a.graphRemoveEdgeCommand(),
			a.graphFindPathCommand(),
			a.graphViewCommand(),
		},
	})
}

// withGraph runs fn with the graph of the configured store, kept in the
// store's "kvgraph" namespace. Bad arguments the graph finds are usage
// errors of the command at path.
func (a *app) withGraph(ctx context.Context, path string, fn func(g *kvgraph.Graph) error) error {
	err := a.withStore(ctx, func(st *kvcore.Store) error {
		g, err := kvgraph.New(st)
		if err != nil {
			return err
		}
		return fn(g)
	})
	if err != nil && errors.Is(err, kvcore.ErrInvalidArgument) {
		var ue *usageError
		if !errors.As(err, &ue) {
			return usagef(path, "%s: %v", path, err)
		}
	}
	return err
}

// checkGraphName checks a node type, node id or edge type by kvgraph's rule
// (before the store is opened, so that bad input changes nothing).
func checkGraphName(path, what, s string) error {
	if err := kvgraph.ValidateName(what, s); err != nil {
		return usagef(path, "%s: %v", path, err)
	}
	return nil
}

// graphNode reads a node from its type and id arguments.
func graphNode(path, what, typ, id string) (kvgraph.NodeRef, error) {
	if err := checkGraphName(path, what+" type", typ); err != nil {
		return kvgraph.NodeRef{}, err
	}
	if err := checkGraphName(path, what+" id", id); err != nil {
		return kvgraph.NodeRef{}, err
	}
	return kvgraph.NewNodeRef(id, typ), nil
}

// edgeWant are the arguments that name an edge.
const edgeWant = "<from-type> <from-id> <to-type> <to-id> <edge-type>"

// edgeArgs checks that the command at path got 5 to max arguments (want
// says which) and reads the edge the first 5 name (edgeWant).
func edgeArgs(path, want string, args []string, max int) (from, to kvgraph.NodeRef, edgeType string, err error) {
	if err = checkArgs(path, args, 5, max, want); err != nil {
		return
	}
	if from, err = graphNode(path, "from", args[0], args[1]); err != nil {
		return
	}
	if to, err = graphNode(path, "to", args[2], args[3]); err != nil {
		return
	}
	edgeType = args[4]
	err = checkGraphName(path, "edge type", edgeType)
	return
}

// edgeName shows an edge in messages.
func edgeName(from kvgraph.NodeRef, edgeType string, to kvgraph.NodeRef) string {
	return fmt.Sprintf("%q %q -[%q]-> %q %q", from.Type, from.ID, edgeType, to.Type, to.ID)
}

// printEdges writes edges as JSON Lines, with times in UTC.
func (a *app) printEdges(es ...kvgraph.Edge) error {
	for _, e := range es {
		if err := a.printJSON(utcEdge(e)); err != nil {
			return err
		}
	}
	return nil
}

// utcEdge is e with its times in UTC, as kv prints them.
func utcEdge(e kvgraph.Edge) kvgraph.Edge {
	e.Created, e.Updated = e.Created.UTC(), e.Updated.UTC()
	return e
}

// readOptionalStdin reads stdin for an optional document: nothing when
// stdin is a terminal (kv does not wait for typing) or empty.
func (a *app) readOptionalStdin() (string, error) {
	if a.stdin == nil {
		return "", nil
	}
	if _, ok := terminal(a.stdin); ok {
		return "", nil
	}
	b, err := a.readStdin()
	return string(b), err
}
