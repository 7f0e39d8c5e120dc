package main

import (
	"context"
	"flag"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvstream"
)

func (a *app) streamGetCommand() *ffcli.Command {
	const path = "stream get"
	var ofType, stream string
	return a.command(spec{
		path:  path,
		reads: true,
		args:  "[<seq> [<limit>]]",
		short: "Get a batch of records from the stream.",
		long: `Prints the stream records from <seq> on (inclusive; default 0: from the start
of the stream, wherever trimming left it), at most <limit> of them (default
0: up to the end of the stream as it was when the command started). A <seq>
that was trimmed away is an error that says where the stream now starts.`,
		flags: func(fs *flag.FlagSet) {
			defineStreamFilters(fs, &ofType, &stream)
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 2, "[<seq> [<limit>]]"); err != nil {
				return err
			}
			var from int64
			limit := 0
			if len(args) > 0 {
				n, err := parseSeq(path, "seq", args[0])
				if err != nil {
					return err
				}
				from = n
			}
			if len(args) > 1 {
				_, l, err := page(path, []string{"0", args[1]})
				if err != nil {
					return err
				}
				limit = l
			}
			filters, err := streamFilters(path, stream, ofType)
			if err != nil {
				return err
			}
			return a.withStream(ctx, func(s *kvstream.Stream) error {
				return a.streamGet(ctx, s, from, limit, filters)
			})
		},
	})
}

// streamGet prints up to limit records from seq from on (limit 0: up to the
// last seq when it starts), reading in pages of at most kvstream.MaxLimit.
func (a *app) streamGet(ctx context.Context, s *kvstream.Stream, from int64, limit int, filters []kvstream.Filter) error {
	last, err := s.Seq(ctx)
	if err != nil {
		return err
	}
	for printed := 0; limit == 0 || printed < limit; {
		n := kvstream.MaxLimit
		if limit > 0 {
			n = min(n, limit-printed)
		}
		rs, err := s.Read(ctx, from, n, filters...)
		if err != nil {
			return err
		}
		if limit == 0 {
			// Stop at the end of the stream as it was at the start.
			for i, r := range rs {
				if r.Seq > last {
					rs = rs[:i]
					break
				}
			}
		}
		if err := a.printStreamRecords(rs...); err != nil {
			return err
		}
		printed += len(rs)
		if len(rs) < n {
			return nil
		}
		from = rs[len(rs)-1].Seq + 1
	}
	return nil
}
