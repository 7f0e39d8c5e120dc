package main

import (
	"context"
	"flag"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) patchCommand() *ffcli.Command {
	const path = "patch"
	var (
		version int64
		ttl     time.Duration
		key     keyFlag
	)
	return a.command(spec{
		path:  path,
		args:  "<key>",
		short: "Patch a key (reads an RFC 7396 JSON merge patch from stdin).",
		long: `Reads a JSON merge patch (RFC 7396) from stdin and merges it into the value at
<key>: members of the patch replace members of the value, nested objects
merge, and a member set to null is removed. A missing key is patched as if
it held {}. The record keeps its type and, unless --ttl is given, its expiry.
Example:

  echo '{"field": "value", "old": null}' | kv patch greeting

--version makes the patch conditional, as for put. The key may be given as
--key <key> instead.`,
		flags: func(fs *flag.FlagSet) {
			key.define(fs)
			fs.Int64Var(&version, "version", -1, "expected version: -1 any, 0 must not exist, N only if at version N")
			fs.DurationVar(&ttl, "ttl", 0, "expire the record after this `duration` from now; 0 keeps its expiry")
		},
		run: func(ctx context.Context, args []string) error {
			args, err := key.args(path, args)
			if err != nil {
				return err
			}
			k, patch, opts, err := a.writeInput(path, args, version, ttl)
			if err != nil {
				return err
			}
			return a.withStore(ctx, func(st *kvcore.Store) error {
				return st.Patch(ctx, k, version, patch, opts...)
			})
		},
	})
}
