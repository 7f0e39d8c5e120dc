package main

import (
	"context"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvgraph"
)

func (a *app) graphGetEdgeCommand() *ffcli.Command {
	const path = "graph get-edge"
	return a.command(spec{
		path:  path,
		reads: true,
		args:  edgeWant,
		short: "Get a specific edge.",
		long:  `Prints the edge as one JSON object. A missing edge is an error (exit status 1).`,
		run: func(ctx context.Context, args []string) error {
			from, to, edgeType, err := edgeArgs(path, edgeWant, args, 5)
			if err != nil {
				return err
			}
			return a.withGraph(ctx, path, func(g *kvgraph.Graph) error {
				e, ok, err := g.GetEdge(ctx, from, edgeType, to)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("%s: edge not found: %s", path, edgeName(from, edgeType, to))
				}
				return a.printEdges(e)
			})
		},
	})
}
