package main

import (
	"context"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvgraph"
)

func (a *app) graphGetEdgeCommand() *ffcli.Command {
	const (
		path = "graph get-edge"
		want = "<from-type> <from-id> <to-type> <to-id> <edge-type>"
	)
	return a.command(spec{
		path:  path,
		args:  want,
		short: "Get a specific edge.",
		long:  `Prints the edge as one JSON object. A missing edge is an error (exit status 1).`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 5, 5, want); err != nil {
				return err
			}
			from, to, edgeType, err := edgeArgs(path, args)
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
