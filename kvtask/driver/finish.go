package driver

import (
	"context"
	"fmt"
	"time"
)

// Completion is one attempt's outcome for FinishMany: task ID, held by
// Runner with the Token of its claim, ended with Outcome.
type Completion struct {
	ID      string
	Runner  string
	Token   int64
	Outcome Outcome
}

// Check reports whether o is an outcome FinishMany accepts: a terminal
// status or Pending, and GiveBack only with Pending.
func (o Outcome) Check() error {
	switch o.Status {
	case Completed, Failed, Cancelled:
		if o.GiveBack {
			return fmt.Errorf("%w: outcome %q gives the attempt back: only a pending outcome can", ErrInvalidArgument, o.Status)
		}
		return nil
	case Pending:
		return nil
	}
	return fmt.Errorf("%w: outcome status %q: want completed, failed, cancelled or pending", ErrInvalidArgument, o.Status)
}

// CheckCompletions is FinishMany's input check: every outcome passes
// Check and no task ID appears twice (one attempt has one outcome).
func CheckCompletions(cs []Completion) error {
	seen := make(map[string]struct{}, len(cs))
	for i, c := range cs {
		if err := c.Outcome.Check(); err != nil {
			return fmt.Errorf("completion %d (task %q): %w", i, c.ID, err)
		}
		if _, dup := seen[c.ID]; dup {
			return fmt.Errorf("%w: task %q is finished twice in one call", ErrInvalidArgument, c.ID)
		}
		seen[c.ID] = struct{}{}
	}
	return nil
}

// FinishOne records one attempt's outcome with q.FinishMany: its error, or
// ErrLost (wrapped) if runner does not hold task id with token.
func FinishOne(ctx context.Context, q Queue, id, runner string, token int64, o Outcome, now time.Time) error {
	errs, err := q.FinishMany(ctx, []Completion{{ID: id, Runner: runner, Token: token, Outcome: o}}, now)
	if err != nil {
		return err
	}
	if len(errs) != 1 {
		return fmt.Errorf("kvtask driver: FinishMany answered %d results for 1 completion", len(errs))
	}
	return errs[0]
}

// Lost returns FinishMany's per-item errors when the ids in recorded were
// recorded: nil for those, ErrLost (naming the task, runner and token) for
// the others.
func Lost(cs []Completion, recorded []string) []error {
	got := make(map[string]struct{}, len(recorded))
	for _, id := range recorded {
		got[id] = struct{}{}
	}
	errs := make([]error, len(cs))
	for i, c := range cs {
		if _, ok := got[c.ID]; !ok {
			errs[i] = fmt.Errorf("task %q runner %q token %d: %w", c.ID, c.Runner, c.Token, ErrLost)
		}
	}
	return errs
}
