package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvgraph"
)

func (a *app) graphAddEdgeCommand() *ffcli.Command {
	const (
		path = "graph add-edge"
		want = edgeWant + " [<properties>]"
	)
	return a.command(spec{
		path:  path,
		args:  want,
		short: "Add an edge between two entities.",
		long: `Adds the edge <from-type> <from-id> -> <to-type> <to-id> of type <edge-type>,
with <properties>: a JSON object given as the last argument or, without it,
read from stdin (when stdin is not a terminal); none means {}. An existing
edge gets the new properties and keeps its created time. Prints nothing.
Example:

  echo '{"since": "2024-01-01"}' | kv graph add-edge User alice User bob follows`,
		run: func(ctx context.Context, args []string) error {
			from, to, edgeType, err := edgeArgs(path, want, args, 6)
			if err != nil {
				return err
			}
			var props json.RawMessage
			if len(args) == 6 {
				if props, err = kvgraph.ParseProperties(args[5]); err != nil {
					return usagef(path, "%s: <properties>: %v", path, err)
				}
			} else {
				text, err := a.readOptionalStdin()
				if err != nil {
					return err
				}
				if props, err = kvgraph.ParseProperties(text); err != nil {
					return fmt.Errorf("%s: properties from stdin: %w", path, err)
				}
			}
			return a.withGraph(ctx, path, func(g *kvgraph.Graph) error {
				return g.AddEdge(ctx, kvgraph.NewEdge(from, to, edgeType, props))
			})
		},
	})
}
