package main

import (
	"context"
	"encoding/json"
	"flag"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) putCommand() *ffcli.Command {
	const path = "put"
	var (
		version int64
		ttl     time.Duration
		typ     string
		key     keyFlag
	)
	return a.command(spec{
		path:  path,
		args:  "<key>",
		short: "Put a key (reads a JSON value from stdin).",
		long: `Reads one JSON document from stdin and stores it at <key>, replacing any
value there. Example:

  echo '{"hello": "world"}' | kv put greeting

--version makes the write conditional: -1 (the default) writes whatever is
there, 0 only creates (fails if the key exists), N > 0 only replaces version
N (fails if the key is missing or at another version). A failed condition is
a "version mismatch" error and changes nothing.

The key may be given as --key <key> instead (echo ... | kv put --key greeting).`,
		flags: func(fs *flag.FlagSet) {
			key.define(fs)
			fs.Int64Var(&version, "version", -1, "expected version: -1 any, 0 must not exist, N only if at version N")
			fs.DurationVar(&ttl, "ttl", 0, "expire the record after this `duration` (e.g. 30s, 1h); 0 never expires")
			fs.StringVar(&typ, "record-type", "", "the record's type `name` (as a Go caller's type name would be)")
		},
		run: func(ctx context.Context, args []string) error {
			args, err := key.args(path, args)
			if err != nil {
				return err
			}
			k, value, opts, err := a.writeInput(path, args, version, ttl)
			if err != nil {
				return err
			}
			opts = append(opts, kvcore.WithType(typ))
			return a.withStore(ctx, func(st *kvcore.Store) error {
				return st.Put(ctx, k, version, value, opts...)
			})
		},
	})
}

// writeInput checks the <key> argument, --version and --ttl of put and
// patch, reads the JSON document from stdin, and returns the key, the
// document and the write options the TTL asks for.
func (a *app) writeInput(path string, args []string, version int64, ttl time.Duration) (string, json.RawMessage, []kvcore.WriteOption, error) {
	if err := checkArgs(path, args, 1, 1, "<key>"); err != nil {
		return "", nil, nil, err
	}
	key := args[0]
	if err := checkKey(path, key); err != nil {
		return "", nil, nil, err
	}
	if err := checkVersion(path, version); err != nil {
		return "", nil, nil, err
	}
	if ttl < 0 {
		return "", nil, nil, usagef(path, "--ttl %v is negative", ttl)
	}
	doc, err := a.readJSON(path)
	if err != nil {
		return "", nil, nil, err
	}
	var opts []kvcore.WriteOption
	if ttl > 0 {
		opts = append(opts, kvcore.WithTTL(ttl))
	}
	return key, doc, opts, nil
}

// checkVersion checks an expected version given with --version.
func checkVersion(path string, v int64) error {
	if v < -1 {
		return usagef(path, "--version %d: want -1 (any), 0 (must not exist) or a version > 0", v)
	}
	return nil
}
