package postgreskv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kvsuite/kv/kvcore"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

var _ taskdriver.Restorer = (*DB)(nil)

// RestoreTasks stores ts exactly as given (see taskdriver.Restorer) in one
// statement, the tasks passed as arrays: a task whose ID exists, or a
// pending or running one whose unique key is held (the partial unique
// index on unique_key), fails it whole.
func (db *DB) RestoreTasks(ctx context.Context, ts []taskdriver.Task) error {
	if len(ts) == 0 {
		return nil
	}
	if err := db.check(); err != nil {
		return err
	}
	n := len(ts)
	ids, names, statuses, lastErrors, lockedBy := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	keys := make([]*string, n)
	payloads := make([][]byte, n)
	created, scheduled := make([]time.Time, n), make([]time.Time, n)
	started, completed, until := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	priorities, attempts, maxRetries, timeouts, tokens := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	lost := make([]int64, n)
	cancels, atMostOnce := make([]bool, n), make([]bool, n)
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := utc(t)
		return &u
	}
	claimable := int64(0)
	for i, t := range ts {
		ids[i], names[i], statuses[i], lastErrors[i], lockedBy[i] = t.ID, t.Name, string(t.Status), cleanText(t.LastError), t.LockedBy
		if t.UniqueKey != "" {
			keys[i] = &ts[i].UniqueKey
		}
		payloads[i], created[i], scheduled[i] = newTaskDefaults(t)
		started[i], completed[i], until[i] = opt(t.Started), opt(t.Completed), opt(t.LockedUntil)
		priorities[i], attempts[i], maxRetries[i] = int64(t.Priority), int64(t.Attempts), int64(t.MaxRetries)
		timeouts[i], tokens[i], cancels[i] = t.Timeout.Microseconds(), t.Token, t.CancelRequested
		lost[i], atMostOnce[i] = int64(t.Lost), t.AtMostOnce
		if t.Status == taskdriver.Pending || t.Status == taskdriver.Running {
			claimable++
		}
	}
	var a args
	sql := `INSERT INTO ` + db.tasks + ` (` + taskColumns + `) SELECT * FROM unnest(` +
		a.add(ids) + `::text[], ` + a.add(names) + `::text[], ` + a.add(payloads) + `::bytea[], ` +
		a.add(statuses) + `::text[], ` + a.add(priorities) + `::bigint[], ` + a.add(keys) + `::text[], ` +
		a.add(created) + `::timestamptz[], ` + a.add(scheduled) + `::timestamptz[], ` + a.add(started) + `::timestamptz[], ` +
		a.add(completed) + `::timestamptz[], ` + a.add(attempts) + `::bigint[], ` + a.add(maxRetries) + `::bigint[], ` +
		a.add(timeouts) + `::bigint[], ` + a.add(lastErrors) + `::text[], ` + a.add(lockedBy) + `::text[], ` +
		a.add(until) + `::timestamptz[], ` + a.add(tokens) + `::bigint[], ` + a.add(cancels) + `::boolean[], ` +
		a.add(lost) + `::bigint[], ` + a.add(atMostOnce) + `::boolean[])`
	if _, err := db.exec(ctx, sql, a...); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" && strings.Contains(pe.ConstraintName, "unique") {
			return fmt.Errorf("%w: a pending or running task holds a restored task's unique key (%s)", kvcore.ErrInvalidArgument, pe.Detail)
		}
		return db.taskError(err)
	}
	db.noticeTasks(claimable)
	return nil
}
