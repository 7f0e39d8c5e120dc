package main

import "github.com/peterbourgon/ff/v3/ffcli"

func (a *app) countCommand() *ffcli.Command {
	return a.command(spec{
		path:  "count",
		short: "Count records: all, by prefix or in a range.",
		long:  `Prints the number of live (not expired) records as a JSON number.`,
		subs: []*ffcli.Command{
			a.countAllCommand(),
			a.countPrefixCommand(),
			a.countRangeCommand(),
		},
	})
}
