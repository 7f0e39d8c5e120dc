package main

import (
	"context"
	"flag"
	"fmt"
	"os/exec"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvgraph"
)

// imageFormats are the --format values that Graphviz renders.
var imageFormats = []string{"svg", "png", "pdf"}

func (a *app) graphViewCommand() *ffcli.Command {
	const (
		path = "graph view"
		want = "[<entity-type> <entity-id>]"
	)
	var (
		format    string
		edgeTypes stringsFlag
		depth     int
		direction string
	)
	return a.command(spec{
		path:  path,
		reads: true,
		args:  want,
		short: "Generate graph visualization output.",
		long: `Prints the graph, or a part of it, for Graphviz (--format=dot, the default),
Mermaid (--format=mermaid), or rendered by Graphviz's dot program as an
image (--format=svg, png or pdf; Graphviz must be installed: apt-get install
graphviz, brew install graphviz). Without arguments, or with "*" "*", it is
the whole graph; with <entity-type> only ("*" as the id), the edges of every
entity of that type; with both, the entity's neighbourhood, --depth hops
deep, following edges either way (--direction). --edge-type keeps only
edges of that type (may be given more than once). Examples:

  kv graph view "*" "*" > social_network.dot
  kv graph view User alice --depth 2 --format=mermaid
  kv graph view "*" "*" --edge-type=follows --format=svg > follows.svg`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&format, "format", "dot", "output `format`: dot, mermaid, or svg, png, pdf (rendered by Graphviz)")
			fs.Var(&edgeTypes, "edge-type", "show only edges of this `type` (repeatable)")
			fs.IntVar(&depth, "depth", 1, "hops from the entity to show, when one is given")
			fs.StringVar(&direction, "direction", "both", "edges the neighbourhood follows: out, in or both")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 2, want); err != nil {
				return err
			}
			nodeType, nodeID := "*", "*"
			if len(args) > 0 {
				nodeType = args[0]
			}
			if len(args) > 1 {
				nodeID = args[1]
			}
			if nodeType != "*" {
				if err := checkGraphName(path, "entity type", nodeType); err != nil {
					return err
				}
			}
			if nodeID != "*" {
				if err := checkGraphName(path, "entity id", nodeID); err != nil {
					return err
				}
			}
			v, err := kvgraph.ParseViewNode(nodeType, nodeID)
			if err != nil {
				return usagef(path, "%s: %v", path, err)
			}
			for _, t := range edgeTypes {
				if t == "*" {
					continue
				}
				if err := checkGraphName(path, "--edge-type", t); err != nil {
					return err
				}
			}
			v.EdgeTypes = edgeTypes
			if depth < 1 {
				return usagef(path, "%s: --depth %d: want 1 or more", path, depth)
			}
			v.Depth = depth
			dir, err := kvgraph.ParseDirection(direction)
			if err != nil {
				return usagef(path, "%s: --direction: %v", path, err)
			}
			v.Direction = &dir

			image := ""
			f, err := kvgraph.ParseFormat(format)
			if err != nil {
				image = strings.ToLower(strings.TrimSpace(format))
				known := false
				for _, x := range imageFormats {
					known = known || image == x
				}
				if !known {
					return usagef(path, "%s: --format %q: want dot, mermaid, svg, png or pdf", path, format)
				}
				if _, err := exec.LookPath("dot"); err != nil {
					return fmt.Errorf("%s --format=%s: %w", path, image, kvgraph.ErrGraphvizNotFound)
				}
			}
			return a.withGraph(ctx, path, func(g *kvgraph.Graph) error {
				if image == "" {
					return g.View(ctx, a.stdout, f, v)
				}
				sg, err := g.Subgraph(ctx, v)
				if err != nil {
					return err
				}
				return sg.Render(ctx, a.stdout, image)
			})
		},
	})
}
