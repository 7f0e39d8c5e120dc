package main

import "github.com/peterbourgon/ff/v3/ffcli"

func (a *app) streamCommand() *ffcli.Command {
	return a.command(spec{
		path:  "stream",
		short: "Read and trim the change stream.",
		long: `Every committed change to a key appends one record to the stream, with a
sequence number (seq) that grows in commit order. The stream holds the
changes of every namespace (the global --namespace does not filter it).
Records are printed as JSON Lines:
{"seq":...,"namespace":...,"key":...,"action":"create"|"update"|"delete",
"version":...,"type":...,"value":<the stored JSON, null for a delete>,"time":...}`,
		subs: []*ffcli.Command{
			a.streamGetCommand(),
			a.streamSeqCommand(),
			a.streamTrimCommand(),
		},
	})
}
