package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/kvsuite/kv/cli/internal/redact"
)

// newLogger returns the log kv writes on w (stderr) for long-running
// commands: format "text" (slog's key=value lines) or "json" (one JSON
// object a line), with messages of level and above. Nothing logged may
// contain a connection string: log redact.Connection of it instead.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil || strings.ContainsAny(level, "+-") {
		return nil, fmt.Errorf("--log-level %s: want debug, info, warn or error", redact.Value(level))
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %s: want text or json", redact.Value(format))
}
