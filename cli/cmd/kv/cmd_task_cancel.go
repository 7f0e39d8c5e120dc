package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvtask"
)

func (a *app) taskCancelCommand() *ffcli.Command {
	const path = "task cancel"
	return a.command(spec{
		path:  path,
		args:  "<id>",
		short: "Cancel a task by ID.",
		long: `Cancels the task <id> and prints it: a pending task becomes cancelled at
once; a running one gets "cancel_requested": its runner cancels the handler at
its next heartbeat and records it cancelled; a completed, failed or cancelled
task stays as it is. Exits with status 1 if there is no such task.`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 1, "<id>"); err != nil {
				return err
			}
			if err := checkName(path, "task id", args[0]); err != nil {
				return err
			}
			return a.withScheduler(ctx, func(s *kvtask.Scheduler) error {
				t, err := s.Cancel(ctx, args[0])
				if err != nil {
					return err
				}
				return a.printJSON(t)
			})
		},
	})
}
