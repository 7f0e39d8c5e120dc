package kvtask

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask/driver"
)

// insertQueue is InsertMany in memory: it records each call's tasks and
// keeps a task out while a stored pending task holds its unique key.
type insertQueue struct {
	driver.Queue
	calls [][]driver.Task
	held  map[string]driver.Task // unique key -> holder
	fail  error
}

func (q *insertQueue) InsertMany(_ context.Context, ts []driver.Task) ([]driver.Inserted, error) {
	q.calls = append(q.calls, ts)
	if q.fail != nil {
		return nil, q.fail
	}
	out := make([]driver.Inserted, len(ts))
	for i, t := range ts {
		if h, ok := q.held[t.UniqueKey]; ok && t.UniqueKey != "" {
			out[i] = driver.Inserted{Task: h}
			continue
		}
		if t.UniqueKey != "" {
			q.held[t.UniqueKey] = t
		}
		out[i] = driver.Inserted{Task: t, Added: true}
	}
	return out, nil
}

func newInsertQueue(t *testing.T) (*Scheduler, *insertQueue) {
	t.Helper()
	q := &insertQueue{held: map[string]driver.Task{"k3": {ID: "old", Name: "job", Status: driver.Pending, UniqueKey: "k3"}}}
	s, err := New(q)
	if err != nil {
		t.Fatal(err)
	}
	return s, q
}

// TestEnqueueMany: one driver call for the batch; a key repeated in the
// batch is sent once and its later tasks are duplicates of the first; a key
// held by a stored task keeps its task out; results are in input order.
func TestEnqueueMany(t *testing.T) {
	s, q := newInsertQueue(t)
	in := []Task{
		{ID: "a", Name: "job", UniqueKey: "k1"},
		{ID: "b", Name: "job", UniqueKey: "k2"},
		{ID: "c", Name: "job", UniqueKey: "k1"},
		{Name: "job"},
		{ID: "e", Name: "job", UniqueKey: "k3"},
	}
	rs, err := s.EnqueueMany(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.calls) != 1 || len(q.calls[0]) != 4 {
		t.Fatalf("driver calls %d: want 1 with 4 tasks (c's key is a's)", len(q.calls))
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Task.ID+map[bool]string{true: "+", false: "-"}[r.Added])
	}
	if rs[3].Task.ID == "" || rs[3].Task.Status != StatusPending {
		t.Errorf("task 3 got no ID or status: %+v", rs[3].Task)
	}
	got[3] = "new+"
	if want := "a+ b+ a- new+ old-"; strings.Join(got, " ") != want {
		t.Errorf("results %q, want %q", strings.Join(got, " "), want)
	}
	task, added, err := s.Enqueue(context.Background(), Task{ID: "f", Name: "job", UniqueKey: "k2"})
	if err != nil || added || task.ID != "b" || len(q.calls) != 2 {
		t.Errorf("Enqueue = %s, %v, %v after %d calls: want the holder b, not added, one InsertMany call", task.ID, added, err, len(q.calls))
	}
}

// TestEnqueueManyBadInput: every task is checked before the driver is
// called; the error names the bad task's index.
func TestEnqueueManyBadInput(t *testing.T) {
	s, q := newInsertQueue(t)
	ctx := context.Background()
	for _, c := range []struct {
		tasks []Task
		want  string
		is    error
	}{
		{[]Task{{Name: "job"}, {Name: "job"}, {Name: ""}}, "task 2", ErrInvalidArgument},
		{[]Task{{Name: "job"}, {Name: "job", Payload: json.RawMessage(`{`)}}, "task 1", kvcore.ErrInvalidValue},
		{[]Task{{ID: "x", Name: "job"}, {Name: "job"}, {ID: "x", Name: "job"}}, "tasks 0 and 2", ErrInvalidArgument},
	} {
		rs, err := s.EnqueueMany(ctx, c.tasks)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) || rs != nil {
			t.Errorf("EnqueueMany(%+v) = %v, %v: want an error naming %q", c.tasks, rs, err, c.want)
		}
	}
	if len(q.calls) != 0 {
		t.Errorf("the driver was called %d times for bad batches", len(q.calls))
	}
	rs, err := s.EnqueueMany(ctx, nil)
	if err != nil || len(rs) != 0 || len(q.calls) != 0 {
		t.Errorf("empty batch: %v, %v, %d driver calls: want no results, no error, no call", rs, err, len(q.calls))
	}
	q.fail = errors.New("connection reset")
	if rs, err := s.EnqueueMany(ctx, []Task{{Name: "job"}}); !errors.Is(err, q.fail) || rs != nil {
		t.Errorf("driver failure: %v, %v", rs, err)
	}
}

// TestValidateTask: ValidateTask accepts what Enqueue accepts and refuses
// the rest with Enqueue's errors.
func TestValidateTask(t *testing.T) {
	for _, good := range []Task{
		{Name: "email"},
		{ID: "t1", Name: "email", Payload: json.RawMessage(`{"to":"a"}`), UniqueKey: "u"},
	} {
		if err := ValidateTask(good); err != nil {
			t.Errorf("ValidateTask(%+v) = %v", good, err)
		}
	}
	for _, bad := range []Task{
		{},
		{Name: "email", ID: "bad\x00id"},
		{Name: "email", Payload: json.RawMessage(`{`)},
		{Name: "email", Payload: make(json.RawMessage, MaxPayloadSize+1)},
		{Name: "email", MaxRetries: -1},
		{Name: "email", TimeoutSeconds: -1},
	} {
		err := ValidateTask(bad)
		if !errors.Is(err, ErrInvalidArgument) && !errors.Is(err, kvcore.ErrInvalidValue) {
			t.Errorf("ValidateTask(%.40v) = %v, want an invalid argument or value", bad, err)
		}
	}
}
