package main

import (
	"context"
	"flag"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvtask"
)

func (a *app) taskListCommand() *ffcli.Command {
	const path = "task list"
	var status, name string
	return a.command(spec{
		path:  path,
		reads: true,
		args:  "[<offset> [<limit>]]",
		short: "List tasks.",
		long: `Prints the tasks, oldest first, as JSON Lines, skipping <offset> and printing
at most <limit> (0: all).`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&status, "status", "", "only tasks in this `status`: pending, running, completed, failed or cancelled")
			fs.StringVar(&name, "name", "", "only tasks for this handler `name`")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 2, "[<offset> [<limit>]]"); err != nil {
				return err
			}
			offset, limit, err := page(path, args)
			if err != nil {
				return err
			}
			st, err := checkStatus(path, status)
			if err != nil {
				return err
			}
			if name != "" {
				if err := checkName(path, "task name", name); err != nil {
					return err
				}
			}
			return a.withScheduler(ctx, func(s *kvtask.Scheduler) error {
				ts, err := s.List(ctx, st, name, offset, limit)
				if err != nil {
					return err
				}
				for _, t := range ts {
					if err := a.printJSON(t); err != nil {
						return err
					}
				}
				return nil
			})
		},
	})
}
