package faults_test

import (
	"context"
	"log/slog"
	"strings"
)

// errorCapture is a slog.Handler that records the errors in log records'
// "err" attributes (the kvtask runner logs the failures it carries on
// after: claims, heartbeats, outcomes, firing schedules), so that their
// clarity is checked like the errors operations return.
type errorCapture struct {
	log *errorLog
}

// Enabled keeps warnings and above.
func (h errorCapture) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

// Handle records the record's "err" attribute, if it is an error.
func (h errorCapture) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "err" {
			h.log.add(opOf(err), err)
		}
		return true
	})
	return nil
}

// WithAttrs returns h: attributes added to the logger are not needed.
func (h errorCapture) WithAttrs([]slog.Attr) slog.Handler { return h }

// WithGroup returns h.
func (h errorCapture) WithGroup(string) slog.Handler { return h }

// opOf returns the operation a kv error names: the words after "kv" and
// before the first colon or quoted argument ("kv task claim: ..." is
// "task claim"), or "?" if err does not start with "kv ".
func opOf(err error) string {
	head, _, _ := strings.Cut(err.Error(), ":")
	words := strings.Fields(head)
	if len(words) < 2 || words[0] != "kv" {
		return "?"
	}
	var op []string
	for _, w := range words[1:] {
		if strings.HasPrefix(w, `"`) {
			break
		}
		op = append(op, w)
	}
	return strings.Join(op, " ")
}
