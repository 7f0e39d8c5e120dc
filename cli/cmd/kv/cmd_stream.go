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
{"seq":...,"namespace":...,"key":...,"action":"create"|"update"|"delete"|"touch",
"version":...,"type":...,"value":<the stored JSON, null for a delete or a touch>,"time":...}
A touch (kv touch) changed the record's expiry only: the record still has
the value and version it had.`,
		subs: []*ffcli.Command{
			a.streamGetCommand(),
			a.streamSeqCommand(),
			a.streamTrimCommand(),
		},
	})
}
