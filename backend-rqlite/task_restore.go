package rqlitekv

import (
	"context"
	"fmt"
	"strings"

	"github.com/kvsuite/kv/kvcore"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

var _ taskdriver.Restorer = (*DB)(nil)

// sqlTaskRestore stores a task row with every column as given.
const sqlTaskRestore = "INSERT INTO tasks (id, name, payload, status, priority, unique_key, created, scheduled_for, " +
	"started, completed, attempts, max_retries, timeout, last_error, locked_by, locked_until, token, cancel_requested, " +
	"lost, at_most_once) " +
	"VALUES (" + textArg + ", " + textArg + ", " + textArg + ", ?, ?, " + textArg + ", ?, ?, ?, ?, ?, ?, ?, " +
	textArg + ", " + textArg + ", ?, ?, ?, ?, ?)"

// RestoreTasks stores ts exactly as given (see taskdriver.Restorer): one
// insert per task in one request, so one transaction - a task whose ID
// exists, or a pending or running one whose unique key is held (the
// partial unique index tasks_unique), rolls the whole call back.
func (db *DB) RestoreTasks(ctx context.Context, ts []taskdriver.Task) error {
	if len(ts) == 0 {
		return nil
	}
	if err := db.usable(ctx); err != nil {
		return err
	}
	var q batch
	for i, t := range ts {
		args, err := taskArgs(t) // checks the text fields
		if err != nil {
			return fmt.Errorf("rqlitekv: restore task %d: %w", i, err)
		}
		if err := checkText("last error", t.LastError); err != nil {
			return fmt.Errorf("rqlitekv: restore task %d: %w", i, err)
		}
		cancel, atMostOnce := 0, 0
		if t.CancelRequested {
			cancel = 1
		}
		if t.AtMostOnce {
			atMostOnce = 1
		}
		q.add(roleOther, i, sqlTaskRestore, args[0], args[1], args[2], string(t.Status), t.Priority, args[4],
			t.Created.UnixMicro(), t.ScheduledFor.UnixMicro(), micros(t.Started), micros(t.Completed),
			t.Attempts, t.MaxRetries, t.Timeout.Microseconds(), txt(t.LastError), txt(t.LockedBy), micros(t.LockedUntil),
			t.Token, cancel, t.Lost, atMostOnce)
	}
	res, failed, err := db.request(ctx, "restore tasks", q.stmts)
	if failed >= 0 {
		if failed < len(ts) && !partlyApplied(res, failed) {
			switch msg := res[failed].Err.Error(); {
			case strings.Contains(msg, "UNIQUE constraint failed: tasks.id"):
				return fmt.Errorf("rqlitekv: restore tasks: %w: task id %q already exists", kvcore.ErrInvalidArgument, ts[failed].ID)
			case strings.Contains(msg, "UNIQUE constraint failed: tasks.unique_key"):
				return fmt.Errorf("rqlitekv: restore tasks: %w: task %q: a pending or running task holds its unique key %q",
					kvcore.ErrInvalidArgument, ts[failed].ID, ts[failed].UniqueKey)
			}
		}
		return db.statementError("restore tasks", &q, res, failed)
	}
	if err != nil {
		return err
	}
	db.taskNotify.Signal()
	return nil
}
