package kvtask

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// Fuzz tests of kvtask's parsers: cron specs, statuses and new tasks. Run
// one for a while with e.g.
//
//	go test -run '^$' -fuzz FuzzCronSpec -fuzztime 60s ./kvtask

func FuzzCronSpec(f *testing.F) {
	for _, s := range []string{
		"* * * * *", "*/5 * * * *", "0 0 30 2 *", "61 * * * *", "@hourly", "@every 10m", "@every -1m",
		"@every 0s", "@every 500ms", "@every", "@every 1x", "TZ=UTC @every -1s", "CRON_TZ=Nowhere/City * * * * *",
		"TZ=", "", " ", "* * * *", "* * * * * *", "1-70 * * * *", "5-1 * * * *", "*/0 * * * *", "@yearly",
		"@reboot", "0 0 * * MON-FRI", "0 0 1,15 * *", "L * * * *", "? * * * *", "\x00", "* * * * *\x00",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		cs, next, err := specNext(spec, now)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "cron expression") {
				t.Fatalf("specNext(%q) = %v, want ErrInvalidArgument naming the cron expression", spec, err)
			}
			if ValidateSpec(spec) == nil {
				t.Fatalf("ValidateSpec(%q) accepts what Schedule refuses", spec)
			}
			return
		}
		// An accepted schedule ticks after now, at least a second apart.
		if !next.After(now) {
			t.Fatalf("%q: next tick %v is not after %v", spec, next, now)
		}
		if after := cs.Next(next); !after.IsZero() && after.Sub(next) < time.Second {
			t.Fatalf("%q: ticks %v and %v are under a second apart", spec, next, after)
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"pending", "running", "completed", "failed", "cancelled", "", "PENDING", "canceled", "done", "pending\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStatus(s)
		known := map[string]bool{"pending": true, "running": true, "completed": true, "failed": true, "cancelled": true}
		if known[s] != (err == nil) {
			t.Fatalf("ParseStatus(%q) = %q, %v", s, st, err)
		}
		if err != nil && (!errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "status")) {
			t.Fatalf("ParseStatus(%q) = %v, want ErrInvalidArgument naming the status", s, err)
		}
		if err == nil && string(st) != s {
			t.Fatalf("ParseStatus(%q) = %q", s, st)
		}
	})
}

// FuzzPrepare: a new task is accepted only with a valid name, unique key
// and JSON payload, and non-negative retries and timeout; a refused one
// wraps ErrInvalidArgument or kvcore.ErrInvalidValue.
func FuzzPrepare(f *testing.F) {
	f.Add("echo", "", []byte(`{"a":1}`), 0, 0)
	f.Add("", "", []byte(`{}`), 0, 0)
	f.Add("echo", "k\x00", []byte(`{}`), 0, 0)
	f.Add("echo", "", []byte(`{"a":`), 0, 0)
	f.Add("echo", "", []byte(``), -1, 0)
	f.Add("echo", "", []byte(`null`), 0, -5)
	f.Add("e\xff", "", []byte(`1`), 3, 30)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name, unique string, payload []byte, retries, timeout int) {
		task := Task{ID: "id", Name: name, UniqueKey: unique, Payload: payload, MaxRetries: retries, TimeoutSeconds: timeout}
		d, err := prepare(task, now)
		ok := kvcore.ValidateName("n", name) == nil && (unique == "" || kvcore.ValidateName("u", unique) == nil) &&
			(len(payload) == 0 || json.Valid(payload)) && len(payload) <= MaxPayloadSize && retries >= 0 && timeout >= 0
		if ok != (err == nil) {
			t.Fatalf("prepare(%+v) = %v, want ok=%v", task, err, ok)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) && !errors.Is(err, kvcore.ErrInvalidValue) {
				t.Fatalf("prepare(%+v) = %v, wraps no documented error", task, err)
			}
			return
		}
		if d.Status != StatusPending || !d.ScheduledFor.Equal(now) || !json.Valid(d.Payload) {
			t.Fatalf("prepare(%+v) = %+v", task, d)
		}
	})
}
