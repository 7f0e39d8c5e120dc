package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The worker sends every queued email once, keeps the duplicate out, runs
// the cron report at each tick and shuts down by itself after two reports.
func TestWorkerRunsEmailsAndCronReports(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a safety net only
	defer cancel()
	var out bytes.Buffer
	args := []string{"-db", filepath.Join(t.TempDir(), "worker.db"), "-emails", "3", "-every", "@every 1s", "-reports", "2"}
	if err := run(ctx, args, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"email to user1@example.com is already queued: not added again\n",
		"worker: 4 concurrent handlers, report schedule \"@every 1s\"\n",
		"sent email to user1@example.com\n",
		"sent email to user2@example.com\n",
		"sent email to user3@example.com\n",
		"report 1: ",
		"report 2: ",
		"stopped; tasks in the database:\n",
		"  email completed: 3\n",
		"  report completed: 2\n",
	} {
		if n := strings.Count(got, want); n != 1 {
			t.Errorf("output has %q %d times, want once:\n%s", want, n, got)
		}
	}
	if strings.Contains(got, "report 3:") {
		t.Errorf("a third report ran after the worker was told to stop after two:\n%s", got)
	}
}

// -duration ends the worker gracefully: not before the duration, with a
// summary, and with no task left running (a handler that started finishes;
// on a loaded machine the email may not have been claimed in time, so
// pending is allowed).
func TestWorkerStopsAfterDuration(t *testing.T) {
	var out bytes.Buffer
	const d = 500 * time.Millisecond
	args := []string{"-emails", "1", "-every", "@hourly", "-duration", d.String()}
	start := time.Now()
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if took := time.Since(start); took < d {
		t.Errorf("the worker stopped after %v, before -duration %v", took, d)
	}
	got := out.String()
	sent := strings.Contains(got, "sent email to user1@example.com\n")
	switch {
	case !strings.Contains(got, "stopped; tasks in the database:\n"):
		t.Errorf("no summary:\n%s", got)
	case strings.Contains(got, "running:"):
		t.Errorf("a task is still running after the graceful stop:\n%s", got)
	case sent != strings.Contains(got, "  email completed: 1\n"):
		t.Errorf("the email's output and its status disagree:\n%s", got)
	case !sent && !strings.Contains(got, "  email pending: 1\n"):
		t.Errorf("the email is neither completed nor pending:\n%s", got)
	}
}

// -duration bounds the runner, not the set-up: a duration shorter than
// opening the database and queueing the tasks takes still ends in a
// graceful stop with a summary, not in "context deadline exceeded".
func TestWorkerShortDurationStillSetsUp(t *testing.T) {
	var out bytes.Buffer
	args := []string{"-emails", "1", "-every", "@hourly", "-duration", "1ns"}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	if !strings.Contains(got, "stopped; tasks in the database:\n") || !strings.Contains(got, "  email pending: 1\n") {
		t.Errorf("want a summary with the email queued and not run:\n%s", got)
	}
}

// Bad flags are clear errors and nothing runs.
func TestWorkerBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-concurrency", "0"},
		{"-emails", "-1"},
		{"-duration", "-1s"},
		{"-every", "not a cron spec"},
		{"extra"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), args, &out)
		if err == nil {
			t.Errorf("run %q: no error", args)
			continue
		}
		if strings.Contains(out.String(), "sent email") {
			t.Errorf("run %q ran tasks before failing: %s", args, out.String())
		}
	}
}
