package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask"
)

// The kv export format: JSON Lines, one object a line, each with a "kind".
// The first line is the header; then records (grouped by namespace, in key
// order), consumers, tasks and schedules; the last line is the trailer.
// Version 1 (kv before the trailer) had no trailer; kv import still reads
// it, with a warning.
const (
	exportFormat  = "kv-export"
	exportVersion = 2
	// trailerVersion is the first version that ends with a trailer.
	trailerVersion = 2
)

// The kinds of line.
const (
	kindHeader   = "header"
	kindRecord   = "record"
	kindConsumer = "consumer"
	kindTask     = "task"
	kindSchedule = "schedule"
	kindTrailer  = "trailer"
)

// headerLine opens an export: its format and version, the backend it came
// from and what it holds.
type headerLine struct {
	Kind       string    `json:"kind"`
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	Source     string    `json:"source"` // the backend type: sqlite, postgres or rqlite
	Exported   time.Time `json:"exported"`
	Namespaces []string  `json:"namespaces"`
	Graph      bool      `json:"graph"`
	Consumers  bool      `json:"consumers"`
	Tasks      bool      `json:"tasks"`
	// StreamSeq is the source's change stream position that the records
	// reflect: every change up to it is in the export, and if
	// StreamSeqExact none after it is (see kvcore.Snapshot.StreamSeq).
	StreamSeq      int64 `json:"stream_seq"`
	StreamSeqExact bool  `json:"stream_seq_exact"`
}

// trailerLine ends an export: the number of lines before it and the
// SHA-256 of their bytes (each line with its newline), in hexadecimal, so
// that kv import can refuse an export that was cut short or edited.
type trailerLine struct {
	Kind   string `json:"kind"`
	Lines  int64  `json:"lines"`
	SHA256 string `json:"sha256"`
}

// recordLine is one record of a namespace: kvcore.Record's fields exactly
// (key, version, value, type, created, updated, expires).
type recordLine struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	kvcore.Record
}

// consumerLine is a consumer's committed position (a seq of the source's
// stream).
type consumerLine struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Position int64  `json:"position"`
}

// taskLine is what an export keeps of a pending or running task: what it
// takes to enqueue it again. Not kept: its created time, attempts (lost
// ones too), last error, start time and lease.
type taskLine struct {
	Kind           string          `json:"kind,omitempty"`
	ID             string          `json:"id,omitempty"`
	Name           string          `json:"name"`
	Payload        json.RawMessage `json:"payload"`
	Status         kvtask.Status   `json:"status,omitempty"`
	Priority       int             `json:"priority"`
	UniqueKey      string          `json:"unique_key"`
	ScheduledFor   *time.Time      `json:"scheduled_for,omitempty"`
	MaxRetries     int             `json:"max_retries"`
	AtMostOnce     bool            `json:"at_most_once,omitempty"`
	TimeoutSeconds int             `json:"timeout_seconds"`
}

// scheduleLine is a cron schedule and the template of its tasks. Not kept:
// its next tick, which the importing store computes from its own clock.
type scheduleLine struct {
	Kind     string   `json:"kind"`
	Name     string   `json:"name"`
	Spec     string   `json:"spec"`
	Template taskLine `json:"template"`
}

func taskLineOf(t kvtask.Task) taskLine {
	at := t.ScheduledFor.UTC()
	return taskLine{Kind: kindTask, ID: t.ID, Name: t.Name, Payload: t.Payload, Status: t.Status,
		Priority: t.Priority, UniqueKey: t.UniqueKey, ScheduledFor: &at, MaxRetries: t.MaxRetries,
		AtMostOnce: t.AtMostOnce, TimeoutSeconds: t.TimeoutSeconds}
}

func templateLineOf(t kvtask.Task) taskLine {
	return taskLine{Name: t.Name, Payload: t.Payload, Priority: t.Priority, UniqueKey: t.UniqueKey,
		MaxRetries: t.MaxRetries, AtMostOnce: t.AtMostOnce, TimeoutSeconds: t.TimeoutSeconds}
}

// task returns the task to enqueue for l: pending, with l's id (if any),
// payload, priority, unique key, run-at time, retries, at-most-once and
// timeout.
func (l taskLine) task() kvtask.Task {
	t := kvtask.Task{ID: l.ID, Name: l.Name, Payload: l.Payload, Priority: l.Priority,
		UniqueKey: l.UniqueKey, MaxRetries: l.MaxRetries, AtMostOnce: l.AtMostOnce, TimeoutSeconds: l.TimeoutSeconds}
	if l.ScheduledFor != nil {
		t.ScheduledFor = *l.ScheduledFor
	}
	return t
}

// check validates a task (or template) line: the export format's rules,
// then kvtask's.
func (l taskLine) check(template bool) error {
	if !template {
		if err := kvcore.ValidateName("task id", l.ID); err != nil {
			return err
		}
		if l.Status != kvtask.StatusPending && l.Status != kvtask.StatusRunning {
			return fmt.Errorf("task %q: status %q: only pending and running tasks are imported", l.ID, l.Status)
		}
		if l.ScheduledFor == nil {
			return fmt.Errorf("task %q: no scheduled_for", l.ID)
		}
	}
	return kvtask.ValidateTask(l.task())
}

// checkRecord checks a record line as st's Restore will, in the line's
// namespace.
func checkRecord(st *kvcore.Store, l recordLine) error {
	ns, err := st.Namespace(l.Namespace)
	if err != nil {
		return err
	}
	return ns.ValidateRecord(l.Record)
}
