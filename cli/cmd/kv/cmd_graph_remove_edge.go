package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvgraph"
)

func (a *app) graphRemoveEdgeCommand() *ffcli.Command {
	const path = "graph remove-edge"
	return a.command(spec{
		path:  path,
		args:  edgeWant,
		short: "Remove an edge.",
		long: `Removes the edge and prints how many edges were removed: 1, or 0 if there was
no such edge (which is not an error, as for kv delete).`,
		run: func(ctx context.Context, args []string) error {
			from, to, edgeType, err := edgeArgs(path, edgeWant, args, 5)
			if err != nil {
				return err
			}
			return a.withGraph(ctx, path, func(g *kvgraph.Graph) error {
				removed, err := g.RemoveEdge(ctx, from, edgeType, to)
				if err != nil {
					return err
				}
				n := 0
				if removed {
					n = 1
				}
				return a.printNumber(int64(n))
			})
		},
	})
}
