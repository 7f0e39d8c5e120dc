package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvlock"
)

// defaultLockDuration is how long kv lock acquire takes a lease for.
const defaultLockDuration = 10 * time.Minute

func (a *app) lockAcquireCommand() *ffcli.Command {
	const path = "lock acquire"
	var d time.Duration
	return a.command(spec{
		path:  path,
		args:  "<name> <locked-by>",
		short: "Acquire a lock.",
		long: `Takes the lease <name> for <locked-by> until --duration from now, if it is
free, expired, or already held by <locked-by> (which extends it, keeping its
token). Prints the lease. If another owner holds it, prints that holder's
lease and exits with status 1.`,
		flags: func(fs *flag.FlagSet) {
			fs.DurationVar(&d, "duration", defaultLockDuration, "hold the lease for this `duration` (e.g. 30s, 10m)")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 2, 2, "<name> <locked-by>"); err != nil {
				return err
			}
			name, owner := args[0], args[1]
			if err := checkName(path, "lock name", name); err != nil {
				return err
			}
			if err := checkName(path, "locked-by", owner); err != nil {
				return err
			}
			if err := checkDuration(path, "duration", d); err != nil {
				return err
			}
			return a.withLocker(ctx, func(l *kvlock.Locker) error {
				le, ok, err := l.Acquire(ctx, name, owner, d)
				if err != nil {
					return err
				}
				if err := a.printJSON(leaseOut(le)); err != nil {
					return err
				}
				if !ok {
					since := ""
					if !le.Acquired.IsZero() {
						since = " (since " + le.Acquired.UTC().Format(time.RFC3339) + ")"
					}
					return fmt.Errorf("lock acquire: lock %q is held by %q until %s%s", name, le.Owner, le.Expires.UTC().Format(time.RFC3339), since)
				}
				return nil
			})
		},
	})
}
