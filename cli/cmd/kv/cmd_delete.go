package main

import (
	"context"
	"flag"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) deleteCommand() *ffcli.Command {
	const path = "delete"
	var (
		version int64
		all     bool
	)
	return a.command(spec{
		path:  path,
		args:  "<key>... | --all",
		short: "Delete keys, or with --all every key.",
		long: `Deletes the keys given, in one transaction, and prints how many existed.
--version N deletes a single key only if it is at version N (otherwise: a
"version mismatch" error, and nothing is deleted).

--all, with no keys, deletes every record of the namespace: it is the only
way to delete everything (an empty prefix is refused).

A key named "key", "prefix" or "range" is deleted with: kv delete key <key>.`,
		flags: func(fs *flag.FlagSet) {
			fs.Int64Var(&version, "version", -1, "with a single key: delete it only if it is at this version")
			fs.BoolVar(&all, "all", false, "delete every record of the namespace (give no keys)")
		},
		run: func(ctx context.Context, args []string) error {
			if all {
				if len(args) > 0 {
					return usagef(path, "delete --all takes no keys (got %q)", args)
				}
				if version != -1 {
					return usagef(path, "delete --all takes no --version")
				}
				return a.withStore(ctx, func(st *kvcore.Store) error {
					n, err := st.DeleteAll(ctx)
					if err != nil {
						return err
					}
					return a.printNumber(int64(n))
				})
			}
			if len(args) == 0 {
				return usagef(path, "delete: want one or more keys, or --all to delete everything")
			}
			return a.deleteKeys(ctx, path, args, version)
		},
		subs: []*ffcli.Command{
			a.deleteKeyCommand(),
			a.deletePrefixCommand(),
			a.deleteRangeCommand(),
		},
	})
}

// deleteKeys deletes keys (or one key at version) and prints how many
// records it deleted.
func (a *app) deleteKeys(ctx context.Context, path string, keys []string, version int64) error {
	for _, k := range keys {
		if err := checkKey(path, k); err != nil {
			return err
		}
	}
	if err := checkVersion(path, version); err != nil {
		return err
	}
	if version != -1 && len(keys) != 1 {
		return usagef(path, "--version applies to a single key, got %d keys", len(keys))
	}
	return a.withStore(ctx, func(st *kvcore.Store) error {
		if version != -1 {
			ok, err := st.DeleteVersion(ctx, keys[0], version)
			if err != nil {
				return err
			}
			n := 0
			if ok {
				n = 1
			}
			return a.printNumber(int64(n))
		}
		n, err := st.Delete(ctx, keys...)
		if err != nil {
			return err
		}
		return a.printNumber(int64(n))
	})
}
