package main

import (
	"context"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvgraph"
)

func (a *app) graphFindPathCommand() *ffcli.Command {
	const (
		path = "graph find-path"
		want = "<from-type> <from-id> <to-type> <to-id> [<edge-type>]"
	)
	return a.command(spec{
		path:  path,
		reads: true,
		args:  want,
		short: "Find shortest path.",
		long: `Finds a path with the fewest hops from one entity to another, following
edges forwards, of <edge-type> only if given. Prints it as one JSON object:
{"nodes":[{"type":...,"id":...},...],"edges":[<edge>,...],"cost":<hops>}.
No path is an error (exit status 1).`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 4, 5, want); err != nil {
				return err
			}
			from, err := graphNode(path, "from", args[0], args[1])
			if err != nil {
				return err
			}
			to, err := graphNode(path, "to", args[2], args[3])
			if err != nil {
				return err
			}
			var types []string
			if len(args) == 5 {
				if err := checkGraphName(path, "edge type", args[4]); err != nil {
					return err
				}
				types = append(types, args[4])
			}
			return a.withGraph(ctx, path, func(g *kvgraph.Graph) error {
				p, found, err := g.FindShortestPath(ctx, from, to, types...)
				if err != nil {
					return err
				}
				if !found {
					via := ""
					if len(types) > 0 {
						via = fmt.Sprintf(" along %q edges", types[0])
					}
					return fmt.Errorf("%s: no path from %q %q to %q %q%s", path, from.Type, from.ID, to.Type, to.ID, via)
				}
				if p.Edges == nil {
					p.Edges = []kvgraph.Edge{}
				}
				for i, e := range p.Edges {
					p.Edges[i] = utcEdge(e)
				}
				return a.printJSON(p)
			})
		},
	})
}
