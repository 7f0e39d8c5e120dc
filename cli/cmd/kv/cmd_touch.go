package main

import (
	"context"
	"flag"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) touchCommand() *ffcli.Command {
	const path = "touch"
	var (
		ttl time.Duration
		fs  *flag.FlagSet
	)
	return a.command(spec{
		path:  path,
		args:  "<key> --ttl <duration>",
		short: "Set a key's expiry without changing its value.",
		long: `Makes the record at <key> expire --ttl from now (--ttl 0: never expire),
without changing its value or version. --ttl is required. A missing key is
an error. The stream gets a touch record (its version, no value).`,
		flags: func(f *flag.FlagSet) {
			fs = f
			f.DurationVar(&ttl, "ttl", 0, "expire the record this `duration` from now (e.g. 30s, 1h); 0 never expires")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 1, "<key>"); err != nil {
				return err
			}
			if err := checkKey(path, args[0]); err != nil {
				return err
			}
			given := false
			fs.Visit(func(f *flag.Flag) { given = given || f.Name == "ttl" })
			if !given {
				return usagef(path, "touch: --ttl is required (--ttl 0 removes the expiry)")
			}
			if ttl < 0 {
				return usagef(path, "--ttl %v is negative", ttl)
			}
			return a.withStore(ctx, func(st *kvcore.Store) error {
				return st.Touch(ctx, args[0], ttl)
			})
		},
	})
}
