package sqlitekv_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
)

var taskNow = time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)

func newTask(id string) taskdriver.Task {
	return taskdriver.Task{ID: id, Name: "job", Payload: []byte(`{ "a" : 1 }`), Status: taskdriver.Pending,
		Created: taskNow, ScheduledFor: taskNow, MaxRetries: 2, Timeout: 90 * time.Second}
}

// insertOne is InsertMany of one task.
func insertOne(ctx context.Context, q taskdriver.Queue, task taskdriver.Task) (taskdriver.Task, bool, error) {
	out, err := q.InsertMany(ctx, []taskdriver.Task{task})
	if err != nil {
		return taskdriver.Task{}, false, err
	}
	return out[0].Task, out[0].Added, nil
}

func mustInsert(t *testing.T, q taskdriver.Queue, task taskdriver.Task) taskdriver.Task {
	t.Helper()
	got, added, err := insertOne(context.Background(), q, task)
	if err != nil || !added {
		t.Fatalf("Insert %s: added %v, %v", task.ID, added, err)
	}
	return got
}

// TestQueueDriver exercises the Queue SPI directly: what InsertMany stores,
// duplicate IDs, give-backs, fencing, bad outcomes and schedule templates.
func TestQueueDriver(t *testing.T) {
	ctx := context.Background()
	db := openInit(t, ":memory:")

	a := newTask("a")
	a.UniqueKey = "u"
	mustInsert(t, db, a)
	got, ok, err := db.Get(ctx, "a")
	if err != nil || !ok {
		t.Fatalf("Get: %v %v", ok, err)
	}
	if string(got.Payload) != `{ "a" : 1 }` || got.Timeout != 90*time.Second || !got.Created.Equal(taskNow) ||
		got.UniqueKey != "u" || got.Status != taskdriver.Pending || !got.Started.IsZero() || got.MaxRetries != 2 {
		t.Errorf("stored task: %+v", got)
	}

	// The same ID again is an error that changes nothing.
	dup := newTask("a")
	dup.Name = "other"
	if _, _, err := insertOne(ctx, db, dup); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Errorf("inserting a duplicate ID: %v", err)
	}
	if got, _, _ := db.Get(ctx, "a"); got.Name != "job" {
		t.Errorf("duplicate ID changed the task: %+v", got)
	}
	// A held unique key returns the holder.
	b := newTask("b")
	b.UniqueKey = "u"
	held, added, err := insertOne(ctx, db, b)
	if err != nil || added || held.ID != "a" {
		t.Fatalf("Insert with a held key: %v %v %v", held.ID, added, err)
	}

	claimed, err := db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 5})
	if err != nil || len(claimed) != 1 || claimed[0].Attempts != 1 || claimed[0].Token != 1 {
		t.Fatalf("Claim: %+v %v", claimed, err)
	}
	c := claimed[0]
	// A wrong token or runner is fenced off.
	if err := taskdriver.FinishOne(ctx, db, "a", "r", c.Token+1, taskdriver.Outcome{Status: taskdriver.Completed}, taskNow); !errors.Is(err, taskdriver.ErrLost) {
		t.Errorf("Finish with a stale token: %v", err)
	}
	if _, err := db.Heartbeat(ctx, "a", "other", c.Token, taskNow, time.Minute); !errors.Is(err, taskdriver.ErrLost) {
		t.Errorf("Heartbeat by another runner: %v", err)
	}
	if err := taskdriver.FinishOne(ctx, db, "a", "r", c.Token, taskdriver.Outcome{Status: "sleeping"}, taskNow); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Errorf("Finish with a bad status: %v", err)
	}
	// Giving the attempt back undoes its count and clears the lease.
	if err := taskdriver.FinishOne(ctx, db, "a", "r", c.Token, taskdriver.Outcome{Status: taskdriver.Pending, RetryAt: taskNow.Add(time.Second), GiveBack: true}, taskNow); err != nil {
		t.Fatal(err)
	}
	got, _, _ = db.Get(ctx, "a")
	if got.Status != taskdriver.Pending || got.Attempts != 0 || got.LockedBy != "" || !got.LockedUntil.IsZero() ||
		!got.ScheduledFor.Equal(taskNow.Add(time.Second)) || got.Token != 1 {
		t.Errorf("after a give-back: %+v", got)
	}
	if _, ok, err := db.Cancel(ctx, "missing", taskNow); ok || err != nil {
		t.Errorf("Cancel missing: %v %v", ok, err)
	}

	// Schedules keep their template; Fire inserts only for the right tick.
	tmpl := newTask("template")
	tmpl.Priority = 7
	next := taskNow.Add(time.Minute)
	if err := db.PutSchedule(ctx, taskdriver.Schedule{Name: "s", Spec: "* * * * *", Template: tmpl, Next: next}); err != nil {
		t.Fatal(err)
	}
	ss, err := db.Schedules(ctx)
	if err != nil || len(ss) != 1 {
		t.Fatalf("Schedules: %v %v", ss, err)
	}
	st := ss[0].Template
	if st.Name != "job" || string(st.Payload) != `{ "a" : 1 }` || st.Priority != 7 || st.Timeout != 90*time.Second ||
		!ss[0].Next.Equal(next) || ss[0].Spec != "* * * * *" {
		t.Errorf("schedule: %+v", ss[0])
	}
	fire := newTask("f1")
	if fired, err := db.Fire(ctx, "s", taskNow, next.Add(time.Minute), fire); err != nil || fired {
		t.Errorf("Fire at the wrong tick: %v %v", fired, err)
	}
	if fired, err := db.Fire(ctx, "s", next, next.Add(time.Minute), fire); err != nil || !fired {
		t.Errorf("Fire: %v %v", fired, err)
	}
	if _, ok, _ := db.Get(ctx, "f1"); !ok {
		t.Error("Fire inserted no task")
	}
	if fired, err := db.Fire(ctx, "s", next, next.Add(time.Minute), newTask("f2")); err != nil || fired {
		t.Errorf("Fire twice for one tick: %v %v", fired, err)
	}
	if _, ok, _ := db.Get(ctx, "f2"); ok {
		t.Error("a second Fire for one tick inserted a task")
	}
	if ok, err := db.DeleteSchedule(ctx, "s"); !ok || err != nil {
		t.Errorf("DeleteSchedule: %v %v", ok, err)
	}
	if ok, err := db.DeleteSchedule(ctx, "s"); ok || err != nil {
		t.Errorf("DeleteSchedule again: %v %v", ok, err)
	}
}

// TestSubscribeTasks: a subscription is signalled after inserts, retries
// and fired schedules, and closed when its context ends or the DB closes.
func TestSubscribeTasks(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitekv.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Init(ctx); err != nil {
		t.Fatal(err)
	}
	subCtx, cancel := context.WithCancel(ctx)
	ch, err := db.SubscribeTasks(subCtx)
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.SubscribeTasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expect := func(what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("no signal after %s", what)
		}
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case <-ch:
			t.Fatalf("signal after %s", what)
		default:
		}
	}
	mustInsert(t, db, newTask("a"))
	expect("an insert")
	ts, err := db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 1})
	if err != nil || len(ts) != 1 {
		t.Fatalf("Claim: %v %v", ts, err)
	}
	if _, err := db.Heartbeat(ctx, "a", "r", ts[0].Token, taskNow, time.Minute); err != nil {
		t.Fatal(err)
	}
	quiet("a claim and a heartbeat")
	if err := taskdriver.FinishOne(ctx, db, "a", "r", ts[0].Token, taskdriver.Outcome{Status: taskdriver.Pending, RetryAt: taskNow}, taskNow); err != nil {
		t.Fatal(err)
	}
	expect("a retry")
	if err := db.PutSchedule(ctx, taskdriver.Schedule{Name: "s", Spec: "@daily", Template: newTask("t"), Next: taskNow}); err != nil {
		t.Fatal(err)
	}
	quiet("a new schedule")
	if fired, err := db.Fire(ctx, "s", taskNow, taskNow.Add(time.Hour), newTask("b")); err != nil || !fired {
		t.Fatalf("Fire: %v %v", fired, err)
	}
	expect("a fired schedule")

	cancel()
	for range ch { // drains and ends when closed
	}
	db.Close()
	for range other {
	}
	if _, err := db.SubscribeTasks(ctx); !errors.Is(err, kvcore.ErrClosed) {
		t.Errorf("SubscribeTasks after Close: %v", err)
	}
}

// TestQueueReadOnly: a read-only database reads tasks and refuses writes.
func TestQueueReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kv.db")
	rw := openInit(t, "file:"+path+"?mode=rwc")
	mustInsert(t, rw, newTask("a"))
	ro := openInit(t, "file:"+path+"?mode=ro")
	if _, ok, err := ro.Get(ctx, "a"); !ok || err != nil {
		t.Fatalf("Get on read-only: %v %v", ok, err)
	}
	if _, _, err := insertOne(ctx, ro, newTask("b")); !errors.Is(err, sqlitekv.ErrReadOnly) {
		t.Errorf("Insert on read-only: %v", err)
	}
	if _, err := ro.Claim(ctx, taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 1}); !errors.Is(err, sqlitekv.ErrReadOnly) {
		t.Errorf("Claim on read-only: %v", err)
	}
	if got, _, _ := rw.Get(ctx, "a"); got.Status != taskdriver.Pending {
		t.Errorf("task after read-only claim: %+v", got)
	}
}
