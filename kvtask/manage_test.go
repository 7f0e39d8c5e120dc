package kvtask

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/kvsuite/kv/kvtask/driver"
)

// listQueue keeps tasks in memory for Get, List and InsertMany; counts,
// if set, makes it a driver.Counter.
type listQueue struct {
	driver.Queue
	tasks  []driver.Task
	lists  int // List calls
	counts []driver.Count
}

func (q *listQueue) Get(_ context.Context, id string) (driver.Task, bool, error) {
	for _, t := range q.tasks {
		if t.ID == id {
			return t, true, nil
		}
	}
	return driver.Task{}, false, nil
}

func (q *listQueue) List(_ context.Context, f driver.Filter) ([]driver.Task, error) {
	q.lists++
	var out []driver.Task
	for _, t := range q.tasks {
		if (f.Status == "" || t.Status == f.Status) && (f.Name == "" || t.Name == f.Name) {
			out = append(out, t)
		}
	}
	out = out[min(f.Offset, len(out)):]
	if f.Limit > 0 {
		out = out[:min(f.Limit, len(out))]
	}
	return out, nil
}

func (q *listQueue) InsertMany(_ context.Context, ts []driver.Task) ([]driver.Inserted, error) {
	out := make([]driver.Inserted, len(ts))
	for i, t := range ts {
		for _, held := range q.tasks {
			if t.UniqueKey != "" && held.UniqueKey == t.UniqueKey && !Terminal(held.Status) {
				out[i] = driver.Inserted{Task: held}
			}
		}
		if out[i].Task.ID == "" {
			q.tasks = append(q.tasks, t)
			out[i] = driver.Inserted{Task: t, Added: true}
		}
	}
	return out, nil
}

type counterQueue struct{ *listQueue }

func (q counterQueue) CountTasks(context.Context) ([]driver.Count, error) { return q.counts, nil }

// Retry adds a fresh copy of a failed or cancelled task and leaves the old
// one as it ended; it refuses any other status, a missing task, and adds
// nothing while the unique key is held.
func TestRetry(t *testing.T) {
	ctx := context.Background()
	q := &listQueue{tasks: []driver.Task{
		{ID: "f", Name: "mail", Payload: []byte(`{"to":"ann"}`), Status: driver.Failed, Priority: 3, UniqueKey: "u1",
			MaxRetries: 2, Attempts: 3, Lost: 1, LastError: "boom", Timeout: 5e9, Token: 7},
		{ID: "c", Name: "mail", Payload: []byte(`1`), Status: driver.Cancelled, UniqueKey: "u2"},
		{ID: "p", Name: "mail", Payload: []byte(`2`), Status: driver.Pending, UniqueKey: "u2"},
		{ID: "done", Name: "mail", Payload: []byte(`3`), Status: driver.Completed},
	}}
	s, err := New(q)
	if err != nil {
		t.Fatal(err)
	}
	nt, added, err := s.Retry(ctx, "f")
	if err != nil || !added {
		t.Fatalf("Retry(failed) = %v, %v", added, err)
	}
	if nt.ID == "f" || nt.Status != StatusPending || nt.Name != "mail" || string(nt.Payload) != `{"to":"ann"}` ||
		nt.Priority != 3 || nt.UniqueKey != "u1" || nt.MaxRetries != 2 || nt.TimeoutSeconds != 5 ||
		nt.Attempts != 0 || nt.Lost != 0 || nt.LastError != "" || nt.Token != 0 {
		t.Fatalf("retried task %+v", nt)
	}
	if old, _, _ := s.Get(ctx, "f"); old.Status != StatusFailed || old.Attempts != 3 {
		t.Fatalf("the old task changed: %+v", old)
	}
	// u2 is held by the pending task p: nothing added, p returned.
	if got, added, err := s.Retry(ctx, "c"); err != nil || added || got.ID != "p" {
		t.Fatalf("Retry(cancelled, key held) = %s, %v, %v", got.ID, added, err)
	}
	for _, id := range []string{"p", "done"} {
		if _, _, err := s.Retry(ctx, id); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Retry(%s) = %v, want ErrInvalidArgument", id, err)
		}
	}
	if _, _, err := s.Retry(ctx, "nope"); !errors.Is(err, ErrTaskNotFound) {
		t.Errorf("Retry(missing) = %v", err)
	}
	if _, _, err := s.Retry(ctx, ""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Retry(\"\") = %v", err)
	}
	if len(q.tasks) != 5 {
		t.Errorf("%d tasks stored, want 5", len(q.tasks))
	}
}

// Counts lists every task a page at a time without a driver.Counter, and
// asks the Counter with one; either way the result is in the same order.
func TestCounts(t *testing.T) {
	ctx := context.Background()
	q := &listQueue{}
	want := map[string]int{}
	for i := range 2*countPage + 10 {
		name, st := []string{"b", "a"}[i%2], statuses[i%len(statuses)]
		q.tasks = append(q.tasks, driver.Task{ID: fmt.Sprint(i), Name: name, Status: st})
		want[name+"/"+string(st)]++
	}
	s, err := New(q)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if q.lists != 3 {
		t.Errorf("%d List calls for %d tasks, want 3", q.lists, len(q.tasks))
	}
	var order []string
	for _, c := range got {
		order = append(order, c.Name+"/"+string(c.Status))
		if want[c.Name+"/"+string(c.Status)] != c.Tasks {
			t.Errorf("count %+v, want %d", c, want[c.Name+"/"+string(c.Status)])
		}
	}
	wantOrder := []string{"a/pending", "a/running", "a/completed", "a/failed", "a/cancelled", "b/pending", "b/running", "b/completed", "b/failed", "b/cancelled"}
	if !slices.Equal(order, wantOrder) {
		t.Fatalf("order %q, want %q", order, wantOrder)
	}

	q.lists = 0
	q.counts = []driver.Count{{Name: "z", Status: driver.Failed, Tasks: 2}, {Name: "z", Status: driver.Pending, Tasks: 1}, {Name: "y", Status: driver.Running, Tasks: 0}}
	s, _ = New(counterQueue{q})
	got, err = s.Counts(ctx)
	if err != nil || q.lists != 0 {
		t.Fatalf("Counts with a Counter: %v (%d List calls)", err, q.lists)
	}
	if fmt.Sprint(got) != "[{z pending 1} {z failed 2}]" {
		t.Fatalf("Counts with a Counter = %v", got)
	}
}

func TestStatuses(t *testing.T) {
	s := Statuses()
	s[0] = "x"
	if Statuses()[0] != StatusPending || len(Statuses()) != 5 {
		t.Fatal("Statuses is not a fresh copy in the order of life")
	}
}
