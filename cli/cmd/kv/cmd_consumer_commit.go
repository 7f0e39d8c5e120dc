package main

import (
	"context"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvstream"
)

func (a *app) consumerCommitCommand() *ffcli.Command {
	const path = "consumer commit"
	return a.command(spec{
		path:  path,
		args:  "<name> <last-seq>",
		short: "Commit the consumer position to a sequence number.",
		long: `Sets the consumer's position to <last-seq>, as an administrator: its next
read starts after <last-seq> (0: at the start of the stream). It creates the
consumer if it does not exist. It is not fenced: an instance running now
(kv consumer stream) keeps its own position and may commit over it; stop it
first. <last-seq> must be within the stream: not after its last seq, and not
before where trimming left it. Prints nothing.`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 2, 2, "<name> <last-seq>"); err != nil {
				return err
			}
			name := args[0]
			if err := checkName(path, "consumer name", name); err != nil {
				return err
			}
			seq, err := parseSeq(path, "last-seq", args[1])
			if err != nil {
				return err
			}
			return a.withStream(ctx, func(s *kvstream.Stream) error {
				first, last, err := s.Bounds(ctx)
				if err != nil {
					return err
				}
				if seq > last {
					return fmt.Errorf("%s: last-seq %d is after the end of the stream (its last seq is %d)", path, seq, last)
				}
				if seq < first-1 {
					return fmt.Errorf("%s: last-seq %d was trimmed: the stream now starts at %d (commit %d or more)", path, seq, first, first-1)
				}
				return s.SetPosition(ctx, name, seq)
			})
		},
	})
}
