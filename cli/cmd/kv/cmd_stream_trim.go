package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvstream"
)

func (a *app) streamTrimCommand() *ffcli.Command {
	const path = "stream trim"
	var force bool
	return a.command(spec{
		path:  path,
		args:  "<seq>",
		short: "Trim the stream to a given sequence number.",
		long: `Deletes the stream records with seq <= <seq> and prints the seq the stream is
now trimmed to (records after it remain), as a JSON number. Without
--force it never trims past the position a consumer has committed (kv
consumer status shows it): it then trims as far as it can, prints where it
stopped, and fails (exit status 1) saying which consumer stopped it, since
records up to <seq> remain. A <seq> past the end of the stream trims every
record (a note on stderr says where the stream ends). Trimming never goes
back: a <seq> below the current trim point changes nothing.`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&force, "force", false, "trim even records that consumers have not committed yet (they then fail with \"trimmed\")")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 1, "<seq>"); err != nil {
				return err
			}
			upTo, err := parseSeq(path, "seq", args[0])
			if err != nil {
				return err
			}
			return a.withStream(ctx, func(s *kvstream.Stream) error {
				trim := s.Trim
				if force {
					trim = s.ForceTrim
				}
				n, err := trim(ctx, upTo)
				if err != nil {
					return err
				}
				if err := a.printNumber(n); err != nil {
					return err
				}
				if n >= upTo {
					return nil
				}
				why, blocked, err := a.trimStop(ctx, s, n, force)
				if err != nil {
					return err
				}
				if blocked {
					return fmt.Errorf("stream trim: %w: stopped at %d, short of %d: %s", errTrimShort, n, upTo, why)
				}
				fmt.Fprintf(a.stderr, "kv: stream trim: stopped at %d, short of %d: %s\n", n, upTo, why)
				return nil
			})
		},
	})
}

// errTrimShort: a consumer's position stopped kv stream trim short of the
// seq asked for.
var errTrimShort = errors.New("trimmed only part of what was asked")

// trimStop explains why a trim stopped at n: a consumer's position
// (blocked), or the end of the stream.
func (a *app) trimStop(ctx context.Context, s *kvstream.Stream, n int64, force bool) (why string, blocked bool, err error) {
	if !force {
		cs, err := s.Consumers(ctx)
		if err != nil {
			return "", false, err
		}
		for _, c := range cs {
			if c.Position <= n {
				return fmt.Sprintf("consumer %s has committed only up to %d (use --force to trim past it)", textName(c.Name), c.Position), true, nil
			}
		}
	}
	_, last, err := s.Bounds(ctx)
	if err != nil {
		return "", false, err
	}
	return fmt.Sprintf("the stream ends at %d", last), false, nil
}
