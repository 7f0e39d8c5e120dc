package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvtask"
)

func (a *app) taskCommand() *ffcli.Command {
	return a.command(spec{
		path:  "task",
		short: "Durable tasks.",
		long: `Tasks are stored in the same database as the records and run by "kv task
run" (or any kvtask.Runner) on any number of machines: each task is claimed by
one runner at a time, with a lease that the runner renews, and is retried with
backoff when its handler fails. Tasks are printed as JSON (one object a line):
{"id":...,"name":...,"payload":<the JSON payload>,"status":...,"priority":...,
"created":...,"scheduled_for":...,"attempts":...,"max_retries":...,...}.
Statuses: pending, running, completed, failed, cancelled.`,
		subs: []*ffcli.Command{
			a.taskNewCommand(),
			a.taskListCommand(),
			a.taskGetCommand(),
			a.taskCancelCommand(),
			a.taskRunCommand(),
			a.taskScheduleCommand(),
			a.taskUnscheduleCommand(),
			a.taskSchedulesCommand(),
		},
	})
}

// taskOptions are the flags that shape a new task (kv task new, kv task
// schedule).
type taskOptions struct {
	priority   int
	maxRetries int
	timeout    time.Duration
	uniqueKey  string
	atMostOnce bool
}

func (o *taskOptions) define(fs *flag.FlagSet) {
	fs.IntVar(&o.priority, "priority", 0, "higher `n` runs first (may be negative; 32 bits)")
	fs.IntVar(&o.maxRetries, "max-retries", 0, fmt.Sprintf("retry a failed attempt up to `n` times (at most %d; a crashed runner's attempt uses none)", kvtask.MaxRetriesLimit))
	fs.DurationVar(&o.timeout, "timeout", 0, fmt.Sprintf("cancel an attempt after this `duration`, whole seconds (0: no limit; at most %v)", kvtask.MaxTimeout))
	fs.StringVar(&o.uniqueKey, "unique-key", "", "add nothing while a pending or running task has this `key`")
	fs.BoolVar(&o.atMostOnce, "at-most-once", false, "never run the handler twice: fail the task if its runner is lost (needs --max-retries 0)")
}

// task checks the options and returns a task for handler name.
func (o *taskOptions) task(path, name string, payload []byte) (kvtask.Task, error) {
	if err := checkName(path, "task name", name); err != nil {
		return kvtask.Task{}, err
	}
	if o.maxRetries < 0 {
		return kvtask.Task{}, usagef(path, "--max-retries %d is negative", o.maxRetries)
	}
	if o.timeout < 0 || o.timeout%time.Second != 0 {
		return kvtask.Task{}, usagef(path, "--timeout %v: want 0 or a whole number of seconds (e.g. 30s, 5m)", o.timeout)
	}
	if o.uniqueKey != "" {
		if err := checkName(path, "unique key", o.uniqueKey); err != nil {
			return kvtask.Task{}, err
		}
	}
	t := kvtask.NewTask(name, payload)
	t.Priority = o.priority
	t.MaxRetries = o.maxRetries
	t.TimeoutSeconds = int(o.timeout / time.Second)
	t.UniqueKey = o.uniqueKey
	t.AtMostOnce = o.atMostOnce
	return t, checkTask(path, t)
}

// checkTask checks t as kvtask will (every field within its limit), as a
// usage error.
func checkTask(path string, t kvtask.Task) error {
	if err := kvtask.ValidateTask(t); err != nil {
		return usagef(path, "%v", err)
	}
	return nil
}

// checkStatus parses a --status filter ("" is any status).
func checkStatus(path, s string) (kvtask.Status, error) {
	if s == "" {
		return "", nil
	}
	st, err := kvtask.ParseStatus(s)
	if err != nil {
		return "", usagef(path, "--status %q: want pending, running, completed, failed or cancelled", s)
	}
	return st, nil
}
