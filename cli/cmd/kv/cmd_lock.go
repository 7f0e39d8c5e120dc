package main

import "github.com/peterbourgon/ff/v3/ffcli"

func (a *app) lockCommand() *ffcli.Command {
	return a.command(spec{
		path:  "lock",
		short: "Leases (locks) with fencing tokens.",
		long: `A lease is held by one owner (<locked-by>) until it expires or is released.
Every time it changes hands its token grows by one; writes can be fenced with
it. Leases are printed as one JSON object:
{"name":...,"owner":...,"token":...,"expires":<time or null>,"acquired":<time or null>}
(acquired is when the owner took the lease, kept while it extends it; owner
is "" and expires and acquired null once released; acquired is also null for
a lease taken before the database stored it). Lease times come from this
machine's clock.`,
		subs: []*ffcli.Command{
			a.lockAcquireCommand(),
			a.lockReleaseCommand(),
			a.lockStatusCommand(),
		},
	})
}
