package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvstream"
)

func (a *app) consumerStatusCommand() *ffcli.Command {
	const path = "consumer status"
	return a.command(spec{
		path:  path,
		reads: true,
		args:  "<name>",
		short: "Show the status of a consumer.",
		long: `Prints the consumer's state as one JSON object:
{"name":...,"position":<the last seq it committed>,"updated":...,
"lag":<records after its position, by seq>,"held":<an instance is reading>,
"lease":<its lease, as kv lock status prints it>}.
An unknown consumer is an error.`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 1, "<name>"); err != nil {
				return err
			}
			name := args[0]
			if err := checkName(path, "consumer name", name); err != nil {
				return err
			}
			return a.withStream(ctx, func(s *kvstream.Stream) error {
				st, err := s.ConsumerStatus(ctx, name)
				if err != nil {
					return consumerNotFound(path, name, err)
				}
				return a.printJSON(consumerStatusJSON{
					Name:     st.Name,
					Position: st.Position,
					Updated:  st.Updated.UTC(),
					Lag:      st.Lag,
					Held:     st.Held,
					Lease:    leaseOut(st.Lease),
				})
			})
		},
	})
}
