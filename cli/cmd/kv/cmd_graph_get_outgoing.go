package main

import (
	"context"
	"flag"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvgraph"
)

func (a *app) graphGetOutgoingCommand() *ffcli.Command {
	return a.graphAdjacentCommand("graph get-outgoing", "Get outgoing edges from an entity.", true)
}

// graphAdjacentCommand builds graph get-outgoing (out) and get-incoming.
func (a *app) graphAdjacentCommand(path, short string, out bool) *ffcli.Command {
	const want = "<entity-type> <entity-id> [<edge-type>]"
	var offset, limit int
	dir, end := "out of", "target"
	if !out {
		dir, end = "into", "source"
	}
	return a.command(spec{
		path:  path,
		reads: true,
		args:  want,
		short: short,
		long: `Prints the edges ` + dir + ` the entity, of <edge-type> (default: every type),
as JSON Lines, ordered by edge type, then ` + end + ` type and id. --offset
skips that many edges and --limit prints at most that many (0: no limit).`,
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&offset, "offset", 0, "skip this many edges")
			fs.IntVar(&limit, "limit", 0, "print at most this many edges (0: no limit)")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 2, 3, want); err != nil {
				return err
			}
			node, err := graphNode(path, "entity", args[0], args[1])
			if err != nil {
				return err
			}
			edgeType := ""
			if len(args) == 3 {
				edgeType = args[2]
				if err := checkGraphName(path, "edge type", edgeType); err != nil {
					return err
				}
			}
			if offset < 0 || limit < 0 {
				return usagef(path, "%s: --offset and --limit must be 0 or more", path)
			}
			return a.withGraph(ctx, path, func(g *kvgraph.Graph) error {
				if offset == 0 && limit == 0 {
					seq := g.GetOutgoing(ctx, node, edgeType)
					if !out {
						seq = g.GetIncoming(ctx, node, edgeType)
					}
					for e, err := range seq {
						if err != nil {
							return err
						}
						if err := a.printEdges(e); err != nil {
							return err
						}
					}
					return nil
				}
				list := g.ListOutgoing
				if !out {
					list = g.ListIncoming
				}
				es, err := list(ctx, node, edgeType, offset, limit)
				if err != nil {
					return err
				}
				return a.printEdges(es...)
			})
		},
	})
}
