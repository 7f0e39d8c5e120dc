package sqlitekv

import (
	"context"
	"fmt"
	"strings"

	"github.com/kvsuite/kv/kvcore"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

var _ taskdriver.Restorer = (*DB)(nil)

// RestoreTasks stores ts exactly as given (see taskdriver.Restorer), in one
// request to the writer, so in one transaction: a task whose ID exists, or
// a pending or running one whose unique key is held (the partial unique
// index tasks_unique), rolls the whole call back.
func (db *DB) RestoreTasks(ctx context.Context, ts []taskdriver.Task) error {
	if len(ts) == 0 {
		return nil
	}
	if err := db.writable(ctx); err != nil {
		return err
	}
	err := db.submit(ctx, func(w *wtx) error {
		for _, t := range ts {
			if err := w.insertTask(normalTask(t)); err != nil {
				return err
			}
			if t.Status == taskdriver.Pending || t.Status == taskdriver.Running {
				w.tasks = true
			}
		}
		return nil
	})
	if err != nil {
		return db.dbError("restore tasks", err)
	}
	return nil
}

// insertTask stores the row of t, every field as given. A task ID that
// exists, or a unique key that a pending or running task holds (when t is
// pending or running: the partial unique index tasks_unique), is an error
// wrapping kvcore.ErrInvalidArgument.
func (w *wtx) insertTask(t taskdriver.Task) error {
	_, err := w.exec(sInsertTask,
		t.ID, t.Name, string(t.Payload), string(t.Status), t.Priority, nullString(t.UniqueKey),
		t.Created.UnixMicro(), t.ScheduledFor.UnixMicro(), micros(t.Started), micros(t.Completed),
		t.Attempts, t.MaxRetries, t.Timeout.Microseconds(), t.LastError, t.LockedBy, micros(t.LockedUntil),
		t.Token, t.CancelRequested, t.Lost, t.AtMostOnce)
	switch {
	case err == nil:
		return nil
	case strings.Contains(err.Error(), "UNIQUE constraint failed: tasks.id"):
		return fmt.Errorf("%w: task id %q already exists", kvcore.ErrInvalidArgument, t.ID)
	case strings.Contains(err.Error(), "UNIQUE constraint failed: tasks.unique_key"):
		return fmt.Errorf("%w: task %q: a pending or running task holds its unique key %q", kvcore.ErrInvalidArgument, t.ID, t.UniqueKey)
	}
	return err
}
