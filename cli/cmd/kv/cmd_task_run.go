package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvtask"
)

// builtinHandlers are the task handlers kv task run has, by name.
var builtinHandlers = []string{"echo", "log"}

// defaultRunnerID names a runner after this machine and process.
func defaultRunnerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("kv-%s-%d", host, os.Getpid())
}

func (a *app) taskRunCommand() *ffcli.Command {
	const path = "task run"
	var (
		runnerID     string
		pollInterval time.Duration
		lockDuration time.Duration
		taskTypes    string
		concurrency  int
		maxLost      int
		idleExit     bool
	)
	return a.command(spec{
		path:  path,
		short: "Run task runner to process scheduled tasks.",
		long: `Claims due tasks and runs them with the built-in handlers until Ctrl+C or
SIGTERM (then it stops claiming, lets running tasks finish for up to 30s and
gives the rest back), or with --idle-exit until no task is left to run. It also
fires the cron schedules of "kv task schedule". The handlers:
  echo  writes the task's payload to stdout as one JSON line
  log   logs the task's payload (with the runner's log, to stderr)
Tasks for other names are left for other runners. A task whose runner was lost
(killed, or stalled past --lock-duration) is run again, using none of its
retries, until it has been lost more than --max-lost times; an --at-most-once
task fails at its first lost attempt instead. The runner logs to stderr per the
global --log-format and --log-level.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&runnerID, "runner-id", "", "name of this runner in the tasks it holds (default kv-<hostname>-<pid>)")
			fs.DurationVar(&pollInterval, "poll-interval", 10*time.Second, "look for new tasks this often when idle (`duration`)")
			fs.DurationVar(&lockDuration, "lock-duration", 5*time.Minute, "lease on a claimed task, renewed every third of it (`duration`)")
			fs.StringVar(&taskTypes, "task-types", strings.Join(builtinHandlers, ","), "comma-separated task `names` to run: built-in handlers only")
			fs.IntVar(&concurrency, "concurrency", 1, "run up to `n` tasks at once")
			fs.IntVar(&maxLost, "max-lost", kvtask.DefaultMaxLost, "fail a task whose runner was lost more than `n` times")
			fs.BoolVar(&idleExit, "idle-exit", false, "exit once no task is left to run")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			if runnerID == "" {
				runnerID = defaultRunnerID()
			}
			if err := checkName(path, "runner id", runnerID); err != nil {
				return err
			}
			if pollInterval <= 0 || pollInterval > kvtask.MaxWait {
				return usagef(path, "--poll-interval %v: want a positive duration of at most %v (e.g. 10s)", pollInterval, kvtask.MaxWait)
			}
			if lockDuration < time.Second || lockDuration > kvtask.MaxLease {
				return usagef(path, "--lock-duration %v: want a duration from 1s to %v (e.g. 5m)", lockDuration, kvtask.MaxLease)
			}
			if concurrency < 1 || concurrency > kvtask.MaxClaimLimit {
				return usagef(path, "--concurrency %d: want 1 to %d", concurrency, kvtask.MaxClaimLimit)
			}
			if maxLost < 1 || maxLost > kvtask.MaxRetriesLimit {
				return usagef(path, "--max-lost %d: want 1 to %d", maxLost, kvtask.MaxRetriesLimit)
			}
			var types []string
			for _, tt := range strings.Split(taskTypes, ",") {
				tt = strings.TrimSpace(tt)
				if tt == "" {
					continue
				}
				if !slices.Contains(builtinHandlers, tt) {
					return usagef(path, "--task-types: no handler for %q: kv task run has %s", tt, strings.Join(builtinHandlers, ", "))
				}
				types = append(types, tt)
			}
			if len(types) == 0 {
				return usagef(path, "--task-types is empty: want some of %s", strings.Join(builtinHandlers, ", "))
			}
			log := a.log
			return a.withScheduler(ctx, func(s *kvtask.Scheduler) error {
				r := kvtask.NewRunner(s, runnerID)
				r.PollInterval = pollInterval
				r.LockDuration = lockDuration
				r.Concurrency = concurrency
				r.MaxLost = maxLost
				r.TaskTypes = types
				r.Logger = log
				r.RegisterHandler("log", func(ctx context.Context, t kvtask.Task) error {
					log.InfoContext(ctx, "task", "id", t.ID, "name", t.Name, "payload", string(t.Payload))
					return nil
				})
				var mu sync.Mutex
				r.RegisterHandler("echo", func(ctx context.Context, t kvtask.Task) error {
					var line bytes.Buffer
					if err := json.Compact(&line, t.Payload); err != nil {
						return fmt.Errorf("payload: %w", err)
					}
					line.WriteByte('\n')
					mu.Lock()
					defer mu.Unlock()
					if _, err := a.stdout.Write(line.Bytes()); err != nil {
						return fmt.Errorf("write output: %w", err)
					}
					return a.flush()
				})
				if idleExit {
					return r.RunUntilIdle(ctx)
				}
				return r.Run(ctx)
			})
		},
	})
}
