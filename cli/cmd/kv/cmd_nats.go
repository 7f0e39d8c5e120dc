package main

import (
	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) natsCommand() *ffcli.Command {
	return a.command(spec{
		path:  "nats",
		short: "Publish the change stream to NATS JetStream.",
		long: `kv nats push publishes every entry of the change stream to a NATS JetStream
stream, each stored there exactly once, in seq order, as a named consumer
that resumes where it stopped.`,
		subs: []*ffcli.Command{
			a.natsPushCommand(),
		},
	})
}
