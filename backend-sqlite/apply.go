package sqlitekv

import (
	"context"
	sqldriver "database/sql/driver"
	"fmt"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

// Apply runs b.Ops in one transaction, all or none (see driver.Store).
// Concurrent Apply calls share the writer's transactions (group commit);
// each is isolated in its own savepoint.
func (db *DB) Apply(ctx context.Context, b driver.Batch) ([]driver.Result, error) {
	if err := db.writable(ctx); err != nil {
		return nil, err
	}
	if len(b.Ops) == 0 {
		return []driver.Result{}, nil
	}
	var res []driver.Result
	err := db.submitPlain(ctx, plainBatch(b), func(w *wtx) error {
		r, err := w.apply(b)
		res = r
		return err
	})
	if err != nil {
		return nil, db.dbError("apply", err)
	}
	return res, nil
}

// plainBatch reports whether every op of b writes only through wtx.exec
// (DeleteRange does not), so that Apply can run without a savepoint.
func plainBatch(b driver.Batch) bool {
	for _, op := range b.Ops {
		if op.Kind == driver.OpDeleteRange {
			return false
		}
	}
	return true
}

// Sweep deletes up to limit expired records across namespaces, appending a
// delete stream entry for each, and returns how many it deleted.
func (db *DB) Sweep(ctx context.Context, now time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, optionError("sweep limit %d must be positive", limit)
	}
	if err := db.writable(ctx); err != nil {
		return 0, err
	}
	var n int64
	err := db.submit(ctx, func(w *wtx) error {
		var err error
		n, err = w.sweep(now.UnixMicro(), limit)
		return err
	})
	if err != nil {
		return 0, db.dbError("sweep", err)
	}
	return n, nil
}

// micros converts an expiry to its stored form: NULL for none.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// holds applies the expected-version rule: -1 any, 0 only if there is no
// live record, N > 0 only if the live record is at version N.
func holds(want int64, live bool, cur int64) bool {
	switch {
	case want == -1:
		return true
	case want == 0:
		return !live
	default:
		return live && cur == want
	}
}

// keyState is a key's stored row as the writer reads it.
type keyState struct {
	exists  bool // a row exists, live or expired
	live    bool
	version int64
	typ     string
	created int64
}

func (w *wtx) state(ns, key string, now int64) (keyState, error) {
	var v [4]sqldriver.Value // version, type, created, expires
	found, err := w.queryRow(sState, v[:], ns, key)
	if err != nil || !found {
		return keyState{}, err
	}
	st := keyState{exists: true}
	var ok [3]bool
	st.version, ok[0] = v[0].(int64)
	st.typ, ok[1] = v[1].(string)
	st.created, ok[2] = v[2].(int64)
	if ok != [3]bool{true, true, true} {
		return st, fmt.Errorf("sqlitekv: record state of %q holds %T, %T, %T", key, v[0], v[1], v[2])
	}
	st.live = true
	switch e := v[3].(type) {
	case nil:
	case int64:
		st.live = e > now
	default:
		return st, fmt.Errorf("sqlitekv: record expiry of %q holds %T", key, e)
	}
	return st, nil
}

func (w *wtx) apply(b driver.Batch) ([]driver.Result, error) {
	now := b.Now.UnixMicro()
	if err := w.checkFence(b.Fence, now); err != nil {
		return nil, err
	}
	res := make([]driver.Result, len(b.Ops))
	for i, op := range b.Ops {
		var r driver.Result
		var err error
		switch op.Kind {
		case driver.OpPut:
			r, err = w.put(op, now)
		case driver.OpRestore:
			r, err = w.restore(op, now)
		case driver.OpDelete:
			r, err = w.delete(op, now)
		case driver.OpTouch:
			r, err = w.touch(op, now)
		case driver.OpDeleteRange:
			r, err = w.deleteRange(op.Sel, now)
		default:
			err = fmt.Errorf("unknown op kind %v", op.Kind)
		}
		if err != nil {
			return nil, &driver.OpError{Index: i, Err: err}
		}
		res[i] = r
	}
	return res, nil
}

// checkFence fails with ErrFenced unless f is nil or its lease is held
// with its token at now.
func (w *wtx) checkFence(f *driver.Fence, now int64) error {
	if f == nil {
		return nil
	}
	var v [1]sqldriver.Value
	if _, err := w.queryRow(sFence, v[:], f.Name, f.Token, now); err != nil {
		return err
	}
	n, _ := v[0].(int64)
	if n == 0 {
		return fmt.Errorf("sqlitekv: lease %q token %d: %w", f.Name, f.Token, driver.ErrFenced)
	}
	return nil
}

// put writes op's record if its expected version holds: a create (version
// 1) over an absent or expired key, else an update of the live record.
func (w *wtx) put(op driver.Op, now int64) (driver.Result, error) {
	return w.write(op, now, func(st keyState) rowTimes {
		if st.live {
			return rowTimes{version: st.version + 1, created: st.created, updated: now}
		}
		return rowTimes{version: 1, created: now, updated: now}
	})
}

// restore writes op's record with its own version and times (op.Version is
// 0, so the key must be absent or expired): a put that creates, with the
// version and times overridden.
func (w *wtx) restore(op driver.Op, now int64) (driver.Result, error) {
	return w.write(op, now, func(keyState) rowTimes {
		return rowTimes{version: op.SetVersion, created: op.Created.UnixMicro(), updated: op.Updated.UnixMicro()}
	})
}

// rowTimes is the version and times a write stores.
type rowTimes struct {
	version, created, updated int64
}

// write is the put path shared by OpPut and OpRestore: it checks op.Version
// against the key's state and refuses to write over a record at MaxVersion,
// appends a delete entry for an expired record it
// replaces, upserts the row with what next returns and appends the create or
// update entry (stamped now).
func (w *wtx) write(op driver.Op, now int64, next func(keyState) rowTimes) (driver.Result, error) {
	st, err := w.state(op.Namespace, op.Key, now)
	if err != nil {
		return driver.Result{}, err
	}
	if !holds(op.Version, st.live, st.version) {
		return driver.Result{}, driver.ErrVersionMismatch
	}
	if st.live && st.version >= driver.MaxVersion {
		return driver.Result{}, driver.ErrVersionLimit // it would need version MaxVersion+1
	}
	action := driver.ActionCreate
	switch {
	case st.live:
		action = driver.ActionUpdate
	case st.exists:
		// The write replaces an expired record: its removal is a change too.
		if _, err := w.exec(sStream, op.Namespace, op.Key, driver.ActionDelete, st.version, st.typ, nil, now); err != nil {
			return driver.Result{}, err
		}
	}
	row := next(st)
	value := string(op.Value)
	if _, err := w.exec(sUpsert, op.Namespace, op.Key, row.version, op.Type, row.created, row.updated, micros(op.Expires), value); err != nil {
		return driver.Result{}, err
	}
	if _, err := w.exec(sStream, op.Namespace, op.Key, action, row.version, op.Type, value, now); err != nil {
		return driver.Result{}, err
	}
	return driver.Result{Rows: 1}, nil
}

func (w *wtx) delete(op driver.Op, now int64) (driver.Result, error) {
	st, err := w.state(op.Namespace, op.Key, now)
	if err != nil {
		return driver.Result{}, err
	}
	if !holds(op.Version, st.live, st.version) {
		return driver.Result{}, driver.ErrVersionMismatch
	}
	if !st.live {
		return driver.Result{}, nil
	}
	if _, err := w.exec(sDelete, op.Namespace, op.Key); err != nil {
		return driver.Result{}, err
	}
	if _, err := w.exec(sStream, op.Namespace, op.Key, driver.ActionDelete, st.version, st.typ, nil, now); err != nil {
		return driver.Result{}, err
	}
	return driver.Result{Rows: 1}, nil
}

// touch sets a live record's expiry and appends its touch entry (its
// version and type, no value); a missing or expired key changes nothing.
func (w *wtx) touch(op driver.Op, now int64) (driver.Result, error) {
	st, err := w.state(op.Namespace, op.Key, now)
	if err != nil {
		return driver.Result{}, err
	}
	if !holds(op.Version, st.live, st.version) {
		return driver.Result{}, driver.ErrVersionMismatch
	}
	if !st.live {
		return driver.Result{}, nil
	}
	if _, err := w.exec(sTouch, micros(op.Expires), op.Namespace, op.Key); err != nil {
		return driver.Result{}, err
	}
	if _, err := w.exec(sStream, op.Namespace, op.Key, driver.ActionTouch, st.version, st.typ, nil, now); err != nil {
		return driver.Result{}, err
	}
	return driver.Result{Rows: 1}, nil
}

// deleteRange deletes the live records sel selects, in key order with its
// offset and limit: first it appends their stream entries, then it deletes
// the same rows (both statements select the same rows in one transaction).
func (w *wtx) deleteRange(sel driver.Selector, now int64) (driver.Result, error) {
	ins, insArgs, del, delArgs := sqlitedialect.SQLite.DeleteRange(sel, now)
	if _, err := w.tx.ExecContext(w.ctx, ins, insArgs...); err != nil {
		return driver.Result{}, err
	}
	r, err := w.tx.ExecContext(w.ctx, del, delArgs...)
	if err != nil {
		return driver.Result{}, err
	}
	n, err := r.RowsAffected()
	if err != nil {
		return driver.Result{}, err
	}
	return driver.Result{Rows: n}, nil
}

func (w *wtx) sweep(now int64, limit int) (int64, error) {
	if _, err := w.tx.ExecContext(w.ctx, sqlitedialect.SweepStream, now, now, limit); err != nil {
		return 0, err
	}
	r, err := w.tx.ExecContext(w.ctx, sqlitedialect.Sweep, now, limit)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}
