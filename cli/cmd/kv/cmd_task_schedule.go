package main

import (
	"context"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvtask"
)

func (a *app) taskScheduleCommand() *ffcli.Command {
	const path = "task schedule"
	var o taskOptions
	return a.command(spec{
		path:  path,
		args:  "<name> <cron-spec> <task-name>",
		short: "Create or replace a cron schedule (reads payload from stdin).",
		long: `Creates or replaces the schedule <name>: at every tick of <cron-spec> (five
fields, e.g. "*/5 * * * *", or a descriptor such as @hourly or "@every 10m",
in UTC) a task for the handler <task-name> with the JSON document on stdin as
its payload is added, once per tick however many runners there are. Runners
("kv task run") fire the schedules. Prints the schedule:
{"name":...,"spec":...,"template":<task>,"next":<time>}.`,
		flags: o.define,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 3, 3, "<name> <cron-spec> <task-name>"); err != nil {
				return err
			}
			name, cronSpec := args[0], args[1]
			if err := checkName(path, "schedule name", name); err != nil {
				return err
			}
			t, err := o.task(path, args[2], nil)
			if err != nil {
				return err
			}
			payload, err := a.readJSON(path)
			if err != nil {
				return err
			}
			t.Payload = payload
			return a.withScheduler(ctx, func(s *kvtask.Scheduler) error {
				if err := s.Schedule(ctx, name, cronSpec, t); err != nil {
					return err
				}
				ss, err := s.Schedules(ctx)
				if err != nil {
					return err
				}
				for _, sc := range ss {
					if sc.Name == name {
						return a.printJSON(sc)
					}
				}
				return fmt.Errorf("task schedule %q: %w (removed at once by another client?)", name, kvtask.ErrScheduleNotFound)
			})
		},
	})
}

func (a *app) taskUnscheduleCommand() *ffcli.Command {
	const path = "task unschedule"
	return a.command(spec{
		path:  path,
		args:  "<name>",
		short: "Delete a cron schedule.",
		long:  `Deletes the schedule <name> (tasks it already added stay); exits with status 1 if there is none.`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 1, "<name>"); err != nil {
				return err
			}
			if err := checkName(path, "schedule name", args[0]); err != nil {
				return err
			}
			return a.withScheduler(ctx, func(s *kvtask.Scheduler) error {
				ok, err := s.Unschedule(ctx, args[0])
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("task unschedule %q: %w", args[0], kvtask.ErrScheduleNotFound)
				}
				return nil
			})
		},
	})
}

func (a *app) taskSchedulesCommand() *ffcli.Command {
	const path = "task schedules"
	return a.command(spec{
		path:  path,
		reads: true,
		short: "List the cron schedules.",
		long:  `Prints every schedule, by name, as JSON Lines: {"name":...,"spec":...,"template":<task>,"next":<time>}.`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			return a.withScheduler(ctx, func(s *kvtask.Scheduler) error {
				ss, err := s.Schedules(ctx)
				if err != nil {
					return err
				}
				for _, sc := range ss {
					if err := a.printJSON(sc); err != nil {
						return err
					}
				}
				return nil
			})
		},
	})
}
