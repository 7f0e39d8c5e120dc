package main

import (
	"context"
	"flag"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvstream"
)

// defaultBatch is the number of records a consumer reads at a time.
const defaultBatch = 100

func (a *app) consumerGetCommand() *ffcli.Command {
	const path = "consumer get"
	var (
		ofType, mode, owner, stream string
		limit                       int
	)
	return a.command(spec{
		path:  path,
		args:  "<name>",
		short: "Get a batch of records for a consumer.",
		long: `Prints the next records (at most --limit) after the consumer's position,
without committing them: the position stays where it is, and the next get
prints them again. Once you have handled them, commit the last seq you
handled with kv consumer commit <name> <seq> (get, handle, commit: each
record is handled at least once). --commit-mode batch commits them as soon
as they are printed (after the last one), all after each one; none (the
default) only reads. With --of-type or --stream a committing get also
moves the position past the entries those filters left out, so a filtered
consumer does not lag behind them or hold back kv stream trim (at a
terminal, the commit hint of a reading get names that seq). A new consumer
starts at the start of the stream. It fails if another instance of the
consumer (a running kv consumer stream) holds its lease.`,
		flags: func(fs *flag.FlagSet) {
			defineStreamFilters(fs, &ofType, &stream)
			fs.IntVar(&limit, "limit", defaultBatch, "print at most this many records")
			fs.StringVar(&mode, "commit-mode", string(kvstream.CommitNone), "whether to commit what it prints: none (read only), batch (after the last record) or all (after each)")
			fs.StringVar(&owner, "owner", "", "the `id` of this instance in the consumer's lease (default host-pid-time)")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 1, "<name>"); err != nil {
				return err
			}
			opts, m, err := consumerOptions(path, args[0], ofType, mode, owner, stream, limit)
			if err != nil {
				return err
			}
			// Read without committing, print, then commit: a record is
			// committed only once it is written out (at least once).
			opts = append(opts, kvstream.Commit(kvstream.CommitNone))
			return a.withStream(ctx, func(s *kvstream.Stream) (err error) {
				c, err := s.Consumer(args[0], opts...)
				if err != nil {
					return err
				}
				defer func() {
					if cerr := c.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
						err = cerr
					}
				}()
				b, err := c.GetBatch(ctx)
				if err != nil {
					return err
				}
				for _, r := range b.Records {
					if err := a.printStreamRecords(r); err != nil {
						return err
					}
					if m == kvstream.CommitAll {
						if err := a.flush(); err != nil {
							return err
						}
						if err := c.Commit(ctx, r.Seq); err != nil {
							return err
						}
					}
				}
				// Once every record is out, the position may move past the
				// entries the filters left out as well (b.Through).
				if m == kvstream.CommitNone {
					if b.Through > c.Position() {
						a.commitHint(args[0], b.Through)
					}
					return nil
				}
				if b.Through <= c.Position() {
					return nil
				}
				if err := a.flush(); err != nil {
					return err
				}
				return c.Commit(ctx, b.Through)
			})
		},
	})
}

// consumerOptions checks a consumer command's arguments and flags and
// returns them as kvstream options (all but the commit mode) and the
// commit mode.
func consumerOptions(path, name, ofType, mode, owner, stream string, limit int) ([]kvstream.ConsumerOption, kvstream.CommitMode, error) {
	if err := checkName(path, "consumer name", name); err != nil {
		return nil, "", err
	}
	m, err := kvstream.ParseCommitMode(mode)
	if err != nil {
		return nil, "", usagef(path, "--commit-mode %q: want all, batch or none", mode)
	}
	if err := checkLimit(path, "limit", limit); err != nil {
		return nil, "", err
	}
	filters, err := streamFilters(path, stream, ofType)
	if err != nil {
		return nil, "", err
	}
	opts := []kvstream.ConsumerOption{kvstream.BatchSize(limit), kvstream.Filters(filters...)}
	if owner != "" {
		if err := checkName(path, "--owner", owner); err != nil {
			return nil, "", err
		}
		opts = append(opts, kvstream.Owner(owner))
	}
	return opts, m, nil
}
