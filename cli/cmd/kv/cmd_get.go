package main

import "github.com/peterbourgon/ff/v3/ffcli"

func (a *app) getCommand() *ffcli.Command {
	return a.command(spec{
		path:  "get",
		short: "Get records by key, prefix, range or a batch of keys.",
		long: `Prints the records found as JSON Lines (one JSON object a line), in key order
(for batch: in the order of the keys given). Prefixes and ranges compare
keys byte by byte: no character is special.`,
		subs: []*ffcli.Command{
			a.getKeyCommand(),
			a.getPrefixCommand(),
			a.getRangeCommand(),
			a.getBatchCommand(),
		},
	})
}
