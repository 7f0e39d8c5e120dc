package kvstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream/driver"
)

// TestIsPermanent: the errors that stop Consumer.Run and those it retries,
// bare and wrapped as a driver or the front wraps them.
func TestIsPermanent(t *testing.T) {
	permanent := []error{kvlock.ErrLost, kvlock.ErrHeld, ErrFenced, &TrimmedError{From: 1, Start: 5}, ErrNotFound,
		driver.ErrNoConsumer, kvcore.ErrClosed, kvcore.ErrNotInitialized, ErrInvalidArgument, errors.ErrUnsupported}
	transient := []error{io.ErrUnexpectedEOF, &net.OpError{Op: "dial", Err: errors.New("connection refused")},
		errors.New("FATAL: terminating connection due to administrator command (SQLSTATE 57P01)"),
		errors.New("database is locked"), context.DeadlineExceeded}
	for _, err := range permanent {
		for _, e := range []error{err, fmt.Errorf("kv consumer %q: commit 7: %w", "c", err)} {
			if !IsPermanent(e) {
				t.Errorf("IsPermanent(%v) = false, want true", e)
			}
		}
	}
	for _, err := range transient {
		for _, e := range []error{err, fmt.Errorf("kv stream read: %w", err)} {
			if IsPermanent(e) {
				t.Errorf("IsPermanent(%v) = true, want false", e)
			}
		}
	}
}

// fakeStream is a driver.Stream that New can wrap; its methods are never
// called by New (they would panic on the nil interface).
type fakeStream struct{ driver.Stream }

// notifyingStream also notifies, declaring its scope if scoped.
type notifyingStream struct {
	fakeStream
}

func (notifyingStream) Subscribe(ctx context.Context) (<-chan struct{}, error) { return nil, nil }

type scopedStream struct {
	notifyingStream
	others bool
}

func (s scopedStream) NotifiesOtherProcesses() bool { return s.others }

// TestIdlePollCap: the longest idle wait is long only when the backend's
// notifications cover every process's commits; WithMaxPoll overrides it.
func TestIdlePollCap(t *testing.T) {
	for _, tt := range []struct {
		name string
		d    driver.Stream
		opts []Option
		want time.Duration
	}{
		{"no notifier", fakeStream{}, nil, pollWithoutNotify},
		{"notifier without scope", notifyingStream{}, nil, pollWithoutNotify},
		{"in-process notifier", scopedStream{others: false}, nil, pollWithoutNotify},
		{"cross-process notifier", scopedStream{others: true}, nil, pollWithNotify},
		{"WithMaxPoll", scopedStream{others: true}, []Option{WithMaxPoll(time.Second)}, time.Second},
	} {
		s, err := New(tt.d, tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if s.poll != tt.want {
			t.Errorf("%s: max poll %v, want %v", tt.name, s.poll, tt.want)
		}
	}
	if pollWithoutNotify >= pollWithNotify {
		t.Errorf("poll caps %v (polling) >= %v (notified)", pollWithoutNotify, pollWithNotify)
	}
}

// TestWithRetryBackoff: defaults, overrides, and a ceiling below the first
// wait raised to it.
func TestWithRetryBackoff(t *testing.T) {
	for _, tt := range []struct {
		first, ceiling   time.Duration
		wantMin, wantMax time.Duration
	}{
		{0, 0, defaultRetryMin, defaultRetryMax},
		{time.Millisecond, 20 * time.Millisecond, time.Millisecond, 20 * time.Millisecond},
		{time.Second, time.Millisecond, time.Second, time.Second},
		{-1, -1, defaultRetryMin, defaultRetryMax},
	} {
		s, err := New(fakeStream{}, WithRetryBackoff(tt.first, tt.ceiling))
		if err != nil {
			t.Fatal(err)
		}
		if s.retryMin != tt.wantMin || s.retryMax != tt.wantMax {
			t.Errorf("WithRetryBackoff(%v, %v): %v, %v; want %v, %v", tt.first, tt.ceiling, s.retryMin, s.retryMax, tt.wantMin, tt.wantMax)
		}
	}
}
