package postgreskv

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestRetryTx: a serialization failure or a deadlock is run again, up to
// txAttempts attempts in all; any other error, success, or the end of the
// context stops at once. It waits the real backoffs (seconds in all), so it
// runs in parallel with the other slow tests.
func TestRetryTx(t *testing.T) {
	t.Parallel()
	serialization := fmt.Errorf("postgreskv: %w", &pgconn.PgError{Code: "40001"})
	deadlock := &pgconn.PgError{Code: "40P01"}
	other := &pgconn.PgError{Code: "23505"}
	cases := []struct {
		name     string
		fails    int   // attempts that fail with err, then success
		err      error // the failure
		attempts int   // attempts run; the error is err if they all failed
	}{
		{"success", 0, nil, 1},
		{"serialization failure, then success", 3, serialization, 4},
		{"deadlock, then success", 1, deadlock, 2},
		{"fails at the last attempt left", txAttempts - 1, serialization, txAttempts},
		{"fails every time", txAttempts + 5, serialization, txAttempts},
		{"another error", 5, other, 1},
		{"a plain error", 5, errors.New("boom"), 1},
	}
	for _, c := range cases {
		n := 0
		err := retryTx(context.Background(), func() error {
			n++
			if n <= c.fails {
				return c.err
			}
			return nil
		})
		if n != c.attempts {
			t.Errorf("%s: %d attempts, want %d", c.name, n, c.attempts)
		}
		switch {
		case c.fails >= c.attempts && !errors.Is(err, c.err):
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		case c.fails < c.attempts && err != nil:
			t.Errorf("%s: %v, want success", c.name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := 0
	err := retryTx(ctx, func() error { n++; return deadlock })
	if n != 1 || !errors.Is(err, deadlock) {
		t.Errorf("ended context: %d attempts, %v; want 1 and the deadlock", n, err)
	}
}

// TestTxBackoff: each wait is positive and within its ceiling, which
// doubles from txBackoffMin up to txBackoffMax.
func TestTxBackoff(t *testing.T) {
	for attempt := 1; attempt < txAttempts+100; attempt++ {
		ceiling := txBackoffMax
		if attempt < 16 {
			ceiling = min(ceiling, txBackoffMin<<(attempt-1))
		}
		for range 50 {
			if d := txBackoff(attempt); d <= 0 || d > ceiling {
				t.Fatalf("attempt %d: wait %v, want within (0, %v]", attempt, d, ceiling)
			}
		}
	}
}
