package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// errNotBuilt: a command of the seed's CLI that this kv does not have yet.
var errNotBuilt = errors.New("not built yet")

// planned is a command that is listed (so that kv --help is the whole
// surface) but not built yet; it takes the seed's flags so that a call
// with them says "not built yet" rather than "unknown flag".
type planned struct {
	name, args, short string
	flags             []string // names of string flags
}

// plannedGroup builds a group of planned commands.
func (a *app) plannedGroup(group, short string, cmds []planned) *ffcli.Command {
	var subs []*ffcli.Command
	for _, p := range cmds {
		path := group + " " + p.name
		flags := p.flags
		subs = append(subs, a.command(spec{
			path:     path,
			args:     p.args,
			short:    p.short,
			long:     "Not built yet: this command is planned and exits with status 1 for now.",
			notBuilt: true,
			flags: func(fs *flag.FlagSet) {
				for _, f := range flags {
					fs.String(f, "", "(not built yet)")
				}
			},
			run: func(ctx context.Context, args []string) error {
				return fmt.Errorf("%s: %w", path, errNotBuilt)
			},
		}))
	}
	return a.command(spec{path: group, short: short + " (not built yet)", subs: subs})
}

func (a *app) taskCommand() *ffcli.Command {
	return a.plannedGroup("task", "Durable tasks.", []planned{
		{"new", "<name>", "Create a new task (reads payload from stdin).", nil},
		{"list", "", "List tasks.", []string{"status", "name"}},
		{"get", "<id>", "Get a task by ID.", nil},
		{"cancel", "<id>", "Cancel a task by ID.", nil},
		{"run", "", "Run task runner to process scheduled tasks.", []string{"runner-id", "poll-interval", "lock-duration"}},
	})
}
