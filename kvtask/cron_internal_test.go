package kvtask

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvtask/driver"
)

// cronQueue holds stored schedules and records which ones fired.
type cronQueue struct {
	driver.Queue
	schedules []driver.Schedule
	fired     []string
}

func (q *cronQueue) Schedules(context.Context) ([]driver.Schedule, error) { return q.schedules, nil }

func (q *cronQueue) Fire(_ context.Context, name string, _, _ time.Time, _ driver.Task) (bool, error) {
	q.fired = append(q.fired, name)
	return true, nil
}

// TestFireDueSkipsBadSpec: a stored schedule whose spec no longer parses,
// or never fires, is reported, and the schedules after it still fire.
func TestFireDueSkipsBadSpec(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	due := now.Add(-time.Minute)
	q := &cronQueue{schedules: []driver.Schedule{
		{Name: "a-bad", Spec: "not a spec", Next: due},
		{Name: "a-never", Spec: "0 0 30 2 *", Next: due},
		{Name: "b-good", Spec: "@hourly", Next: due},
	}}
	s, err := New(q, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.FireDue(context.Background())
	if n != 1 || len(q.fired) != 1 || q.fired[0] != "b-good" {
		t.Errorf("fired %d: %v", n, q.fired)
	}
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), `"a-bad"`) || !strings.Contains(err.Error(), `"a-never"`) {
		t.Errorf("FireDue error: %v", err)
	}
}

// TestValidateSpec: ValidateSpec refuses what Schedule refuses.
func TestValidateSpec(t *testing.T) {
	for _, bad := range []string{"", "TZ=UTC", "@every 500ms", "@every -1m", "0 0 30 2 *", "61 * * * *"} {
		if err := ValidateSpec(bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ValidateSpec(%q) = %v", bad, err)
		}
	}
	for _, good := range []string{"@hourly", "*/5 * * * *", "@every 10s", "TZ=Europe/Paris 0 9 * * MON-FRI"} {
		if err := ValidateSpec(good); err != nil {
			t.Errorf("ValidateSpec(%q) = %v", good, err)
		}
	}
}
