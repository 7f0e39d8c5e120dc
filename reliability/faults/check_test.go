package faults_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
)

// TestCheckConsumer shows that checkConsumer rejects the histories the
// fault test must catch: a skipped entry, a re-delivered committed entry,
// an out-of-order delivery, a wrong record and a consumer that fell short.
func TestCheckConsumer(t *testing.T) {
	stream := []kvstream.Record{{Seq: 1, Key: "a", Version: 1}, {Seq: 2, Key: "b", Version: 1}, {Seq: 3, Key: "a", Version: 2}}
	run := consumeEvent{kind: 'r'}
	d := func(seq int64) consumeEvent {
		r := stream[seq-1]
		return consumeEvent{kind: 'd', seq: seq, key: r.Key, version: r.Version}
	}
	c := func(seq int64) consumeEvent { return consumeEvent{kind: 'c', seq: seq} }
	tests := []struct {
		name   string
		events []consumeEvent
		want   string // "" if the history is good, else part of the error
	}{
		{"in order", []consumeEvent{run, d(1), c(1), d(2), c(2), d(3), c(3)}, ""},
		{"uncommitted tail re-delivered", []consumeEvent{run, d(1), c(1), d(2), run, d(2), c(2), d(3)}, ""},
		{"committed entry re-delivered", []consumeEvent{run, d(1), c(1), d(2), c(2), run, d(2), d(3)}, "was committed"},
		{"skip at a restart", []consumeEvent{run, d(1), c(1), run, d(3)}, "skipping 2..2"},
		{"gap in a run", []consumeEvent{run, d(1), d(3)}, "delivered after 1"},
		{"short", []consumeEvent{run, d(1), d(2)}, "reached seq 2 of 3"},
		{"wrong record", []consumeEvent{run, d(1), {kind: 'd', seq: 2, key: "x", version: 1}}, "delivered as x"},
	}
	for _, tc := range tests {
		rep, err := checkConsumer(tc.events, stream)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		if tc.name == "uncommitted tail re-delivered" && (rep.redelivered != 1 || rep.runs != 2) {
			t.Errorf("%s: report %+v, want 1 re-delivery in 2 runs", tc.name, rep)
		}
	}
}

// TestClearError shows what the fault test calls a clear error.
func TestClearError(t *testing.T) {
	cause := errors.New("connection refused")
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("kv put: %w", fmt.Errorf("postgreskv: %w", cause)), true},
		{fmt.Errorf("kv put: %w", errors.Join(cause, cause)), true},
		{fmt.Errorf("kv put: %v", cause), false},                      // cause not wrapped
		{fmt.Errorf("postgreskv: %w", cause), false},                  // operation not named
		{fmt.Errorf("kv get: %w", fmt.Errorf("x: %w", cause)), false}, // another operation
		{fmt.Errorf("kv put: commit 7: %w", kvcore.ErrFenced), true},  // kv's outcome is the cause
		{fmt.Errorf("kv put: %w", cause), false},                      // a bare cause from the backend
	}
	for _, tc := range tests {
		if got := clearError("put", tc.err); got != tc.want {
			t.Errorf("clearError(put, %q) = %t, want %t", tc.err, got, tc.want)
		}
	}
}

// TestOpOf shows how a logged error's operation is found.
func TestOpOf(t *testing.T) {
	for msg, want := range map[string]string{
		`kv task claim: postgreskv: x`:            "task claim",
		`kv task heartbeat "id-1": postgreskv: x`: "task heartbeat",
		`kv schedules: postgreskv: x`:             "schedules",
		`postgreskv: x`:                           "?",
	} {
		if got := opOf(errors.New(msg)); got != want {
			t.Errorf("opOf(%q) = %q, want %q", msg, got, want)
		}
	}
}
