package main

import (
	"context"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvtask"
)

func (a *app) taskGetCommand() *ffcli.Command {
	const path = "task get"
	return a.command(spec{
		path:  path,
		reads: true,
		args:  "<id>",
		short: "Get a task by ID.",
		long:  `Prints the task <id>; exits with status 1 if there is none.`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 1, "<id>"); err != nil {
				return err
			}
			if err := checkName(path, "task id", args[0]); err != nil {
				return err
			}
			return a.withScheduler(ctx, func(s *kvtask.Scheduler) error {
				t, ok, err := s.Get(ctx, args[0])
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("task get %q: %w", args[0], kvtask.ErrTaskNotFound)
				}
				return a.printJSON(t)
			})
		},
	})
}
