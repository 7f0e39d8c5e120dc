package main

import (
	"context"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvstream"
)

func (a *app) consumerDeleteCommand() *ffcli.Command {
	const path = "consumer delete"
	return a.command(spec{
		path:  path,
		args:  "<name>",
		short: "Delete a consumer.",
		long: `Deletes the consumer's position: it no longer holds back kv stream trim, and
it starts again at the start of the stream if it is used again (an instance
running now recreates it there when it next takes its lease over). Prints
nothing; an unknown consumer is an error.`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 1, "<name>"); err != nil {
				return err
			}
			name := args[0]
			if err := checkName(path, "consumer name", name); err != nil {
				return err
			}
			return a.withStream(ctx, func(s *kvstream.Stream) error {
				ok, err := s.DeleteConsumer(ctx, name)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("%s: no consumer named %q", path, name)
				}
				return nil
			})
		},
	})
}
