package main

import (
	"errors"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvstream"
)

func (a *app) consumerCommand() *ffcli.Command {
	return a.command(spec{
		path:  "consumer",
		short: "Named stream consumers.",
		long: `A consumer reads the change stream under a name whose position (the last seq
it committed) is kept in the store, so that each run goes on where the last
one stopped. One instance of a consumer reads at a time: it holds the lease
"` + kvstream.LeasePrefix + `<name>" (see kv lock status) while it reads, and a
commit by an instance that lost that lease fails. Records are printed as
kv stream get prints them.`,
		subs: []*ffcli.Command{
			a.consumerGetCommand(),
			a.consumerStreamCommand(),
			a.consumerStatusCommand(),
			a.consumerCommitCommand(),
			a.consumerDeleteCommand(),
		},
	})
}

// consumerNotFound rewords kvstream's "not found" for the command at path.
func consumerNotFound(path, name string, err error) error {
	if errors.Is(err, kvstream.ErrNotFound) {
		return fmt.Errorf("%s: no consumer named %q (kv consumer get or stream creates one)", path, name)
	}
	return err
}
