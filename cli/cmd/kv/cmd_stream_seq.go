package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvstream"
)

func (a *app) streamSeqCommand() *ffcli.Command {
	const path = "stream seq"
	return a.command(spec{
		path:  path,
		reads: true,
		short: "Show the current stream sequence number.",
		long: `Prints the seq of the last record in the stream as a JSON number (0 if the
stream is empty).`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			return a.withStream(ctx, func(s *kvstream.Stream) error {
				n, err := s.Seq(ctx)
				if err != nil {
					return err
				}
				return a.printNumber(n)
			})
		},
	})
}
