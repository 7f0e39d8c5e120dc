package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvtask"
)

func (a *app) taskNewCommand() *ffcli.Command {
	const path = "task new"
	var (
		o  taskOptions
		at string
		in time.Duration
	)
	return a.command(spec{
		path:  path,
		args:  "<name>",
		short: "Create a new task (reads payload from stdin).",
		long: `Adds a pending task for the handler <name> with the JSON document on stdin
as its payload, and prints it. It runs as soon as possible, or no earlier than
--at (an RFC 3339 time, after 1970 and at most in year 9999) or --in (a
duration from now). With --unique-key, if a pending or running task already has
that key, nothing is added and kv exits with status 1.

A task whose runner crashes or stalls past its lease is run again by another
runner; that lost attempt uses none of --max-retries (a runner fails a task
whose runner was lost more than 5 times). With --at-most-once the handler never
runs twice: a lost attempt fails the task instead.`,
		flags: func(fs *flag.FlagSet) {
			o.define(fs)
			fs.StringVar(&at, "at", "", "run no earlier than this RFC 3339 `time` (e.g. 2030-01-02T15:04:05Z)")
			fs.DurationVar(&in, "in", 0, "run no earlier than this `duration` from now (e.g. 90s, 2h)")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 1, "<name>"); err != nil {
				return err
			}
			t, err := o.task(path, args[0], nil)
			if err != nil {
				return err
			}
			switch {
			case at != "" && in != 0:
				return usagef(path, "--at and --in: give one of them")
			case at != "":
				when, err := time.Parse(time.RFC3339Nano, at)
				if err != nil {
					return usagef(path, "--at %q is not an RFC 3339 time (e.g. 2030-01-02T15:04:05Z)", at)
				}
				t.ScheduledFor = when
			case in < 0:
				return usagef(path, "--in %v is negative", in)
			case in > 0:
				t.ScheduledFor = time.Now().Add(in)
			}
			if err := checkTask(path, t); err != nil {
				return err
			}
			payload, err := a.readJSON(path)
			if err != nil {
				return err
			}
			t.Payload = payload
			return a.withScheduler(ctx, func(s *kvtask.Scheduler) error {
				got, added, err := s.Enqueue(ctx, t)
				if err != nil {
					return err
				}
				if !added {
					return fmt.Errorf("task new: not added: task %s (%s) already has unique key %q", got.ID, got.Status, t.UniqueKey)
				}
				return a.printJSON(got)
			})
		},
	})
}
