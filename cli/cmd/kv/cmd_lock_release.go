package main

import (
	"context"
	"fmt"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvlock"
)

func (a *app) lockReleaseCommand() *ffcli.Command {
	const path = "lock release"
	return a.command(spec{
		path:  path,
		args:  "<name> <locked-by>",
		short: "Release a lock.",
		long: `Frees the lease <name> if <locked-by> holds it (its token is kept, and grows
when it is next acquired). Prints nothing. If <locked-by> does not hold it
(never did, released it already, it expired, or another owner holds it),
exits with status 1 and says who holds it.`,
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
			return a.withLocker(ctx, func(l *kvlock.Locker) error {
				ok, err := l.Release(ctx, name, owner)
				if err != nil || ok {
					return err
				}
				le, held, err := l.Status(ctx, name)
				switch {
				case err != nil:
					return err
				case held:
					return fmt.Errorf("lock release: lock %q is not held by %q: %q holds it until %s", name, owner, le.Owner, le.Expires.UTC().Format(time.RFC3339))
				case le.Owner == owner && !le.Expires.IsZero():
					return fmt.Errorf("lock release: lock %q is not held by %q: its lease expired at %s", name, owner, le.Expires.UTC().Format(time.RFC3339))
				default:
					return fmt.Errorf("lock release: lock %q is not held by %q: it is not held", name, owner)
				}
			})
		},
	})
}
