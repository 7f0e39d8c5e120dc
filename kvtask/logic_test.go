package kvtask

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	base, max := time.Second, time.Minute
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second, 7: time.Minute, 100: time.Minute} {
		if got := Backoff(n, base, max, 1); got != want {
			t.Errorf("Backoff(%d, f=1) = %v, want %v", n, got, want)
		}
		if got := Backoff(n, base, max, 0); got != want/2 {
			t.Errorf("Backoff(%d, f=0) = %v, want %v", n, got, want/2)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for _, s := range []string{"pending", "running", "completed", "failed", "cancelled"} {
		if _, err := ParseStatus(s); err != nil {
			t.Errorf("ParseStatus(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "done", "Pending", "canceled"} {
		if _, err := ParseStatus(s); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParseStatus(%q) = %v, want ErrInvalidArgument", s, err)
		}
	}
	if !Terminal(StatusCancelled) || Terminal(StatusRunning) {
		t.Error("Terminal is wrong")
	}
}

func TestPrepare(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	d, err := prepare(Task{Name: "x"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID == "" || string(d.Payload) != "null" || !d.ScheduledFor.Equal(now) || d.Status != StatusPending {
		t.Errorf("defaults not applied: %+v", d)
	}
	big := make([]byte, MaxPayloadSize+1)
	for _, bad := range []Task{{}, {Name: "x", Payload: json.RawMessage(`{`)}, {Name: "x", Payload: big}, {Name: "x", MaxRetries: -1}} {
		if _, err := prepare(bad, now); err == nil {
			t.Errorf("prepare(%+v) accepted bad input", bad.Name)
		}
	}
}

func TestRunnerConfig(t *testing.T) {
	r := NewRunner(&Scheduler{}, "r")
	if _, _, err := r.config(); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("no handlers: %v", err)
	}
	r.RegisterHandler("b", nil)
	r.RegisterHandler("a", nil)
	c, names, err := r.config()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[0] != "a" || c.Concurrency != 1 || c.LockDuration != 5*time.Minute {
		t.Errorf("defaults: %+v %v", c, names)
	}
	r.PollInterval = -1
	if _, _, err := r.config(); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative poll interval: %v", err)
	}
}
