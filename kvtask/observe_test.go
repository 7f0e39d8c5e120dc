package kvtask

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// A runner's Observer is told of every attempt once its outcome is
// recorded: a completion, a failure with retries left (retried), a last
// failure (failed), and the time its handler ran.
func TestRunnerObserver(t *testing.T) {
	q := newMemQueue(3) // t0000 completes, t0001 fails once then completes, t0002 fails for good
	q.tasks["t0001"].MaxRetries = 1
	s, err := New(q)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(s, "r")
	r.PollInterval = 10 * time.Millisecond
	r.RetryBase, r.RetryMax = time.Millisecond, time.Millisecond
	r.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	var (
		mu   sync.Mutex
		seen []Attempt
		runs = map[string]int{}
	)
	r.Observer = func(a Attempt) {
		mu.Lock()
		seen = append(seen, a)
		mu.Unlock()
	}
	r.RegisterHandler("job", func(ctx context.Context, task Task) error {
		mu.Lock()
		runs[task.ID]++
		n := runs[task.ID]
		mu.Unlock()
		time.Sleep(time.Millisecond)
		if task.ID == "t0002" || (task.ID == "t0001" && n == 1) {
			return errors.New("boom")
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.RunUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range seen {
		got = append(got, a.Task.ID+" "+string(a.Outcome))
		if a.Duration < time.Millisecond || a.Err != nil {
			t.Errorf("attempt of %s: duration %v (the handler slept 1ms), err %v", a.Task.ID, a.Duration, a.Err)
		}
	}
	slices.Sort(got)
	want := []string{"t0000 completed", "t0001 completed", "t0001 retried", "t0002 failed"}
	if !slices.Equal(got, want) {
		t.Fatalf("observed %q, want %q", got, want)
	}
}

func TestOutcomeOf(t *testing.T) {
	for _, c := range []struct {
		o    Outcome
		want AttemptOutcome
	}{
		{Outcome{Status: StatusCompleted}, AttemptCompleted},
		{Outcome{Status: StatusFailed}, AttemptFailed},
		{Outcome{Status: StatusCancelled}, AttemptCancelled},
		{Outcome{Status: StatusPending, RetryAt: time.Now()}, AttemptRetried},
		{Outcome{Status: StatusPending, GiveBack: true}, AttemptGivenBack},
	} {
		if got := outcomeOf(c.o); got != c.want {
			t.Errorf("outcomeOf(%+v) = %s, want %s", c.o, got, c.want)
		}
	}
}
