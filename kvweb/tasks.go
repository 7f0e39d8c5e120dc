package kvweb

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/kvsuite/kv/kvtask"
)

// tasksPage is how many tasks the Tasks page lists at a time.
const tasksPage = 50

// tasksData is what the Tasks page shows.
type tasksData struct {
	Configured bool
	Statuses   []kvtask.Status
	Status     kvtask.Status
	Name       string
	Matrix     []matrixRow
	Total      matrixRow
	Tasks      []taskRow // newest first
	Page       int64
	Newer      string
	Older      string
	Schedules  []kvtask.Schedule
}

// matrixRow is a task name's counts by status, in Statuses' order.
type matrixRow struct {
	Name  string
	Link  string
	Cells []matrixCell
}

type matrixCell struct {
	Tasks int
	Link  string
}

// taskRow is a task in a list.
type taskRow struct {
	kvtask.Task
	Link string
}

func (h *Handler) tasks(w http.ResponseWriter, r *http.Request) error {
	p, err := parseQuery(r, "status", "name", "page")
	if err != nil {
		return err
	}
	status, err := p.status("status")
	if err != nil {
		return err
	}
	name, err := p.name("name")
	if err != nil {
		return err
	}
	page, err := p.int("page", 0, 0, 1<<40)
	if err != nil {
		return err
	}
	d := tasksData{Configured: h.cfg.Tasks != nil, Statuses: kvtask.Statuses(), Status: status, Name: name, Page: page}
	s := h.cfg.Tasks
	if s == nil {
		h.render(w, r, http.StatusOK, "tasks", "Tasks", d)
		return nil
	}
	ctx := r.Context()
	counts, err := s.Counts(ctx)
	if err != nil {
		return err
	}
	// The matrix of names by statuses, and how many tasks the filter
	// selects.
	matching := 0
	d.Total = matrixRow{Name: "all", Link: link("tasks"), Cells: make([]matrixCell, len(d.Statuses))}
	for i, st := range d.Statuses {
		d.Total.Cells[i].Link = link("tasks", "status", string(st))
	}
	for _, c := range counts {
		if len(d.Matrix) == 0 || d.Matrix[len(d.Matrix)-1].Name != c.Name {
			row := matrixRow{Name: c.Name, Link: link("tasks", "name", c.Name), Cells: make([]matrixCell, len(d.Statuses))}
			for i, st := range d.Statuses {
				row.Cells[i].Link = link("tasks", "name", c.Name, "status", string(st))
			}
			d.Matrix = append(d.Matrix, row)
		}
		i := slices.Index(d.Statuses, c.Status)
		if i < 0 {
			continue
		}
		d.Matrix[len(d.Matrix)-1].Cells[i].Tasks += c.Tasks
		d.Total.Cells[i].Tasks += c.Tasks
		if (status == "" || c.Status == status) && (name == "" || c.Name == name) {
			matching += c.Tasks
		}
	}
	// Newest first: the list is oldest first, so page n from the newest is
	// read at an offset from the end.
	end := int64(matching) - page*tasksPage
	if end > 0 {
		start := max(0, end-tasksPage)
		ts, err := s.List(ctx, status, name, int(start), int(end-start))
		if err != nil {
			return err
		}
		for i := len(ts) - 1; i >= 0; i-- {
			d.Tasks = append(d.Tasks, taskRow{Task: ts[i], Link: link("task", "id", ts[i].ID)})
		}
		if start > 0 {
			d.Older = link("tasks", "status", string(status), "name", name, "page", strconv.FormatInt(page+1, 10))
		}
	}
	if page > 0 {
		newer := ""
		if page > 1 {
			newer = strconv.FormatInt(page-1, 10)
		}
		d.Newer = link("tasks", "status", string(status), "name", name, "page", newer)
	}
	if d.Schedules, err = s.Schedules(ctx); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "tasks", "Tasks", d)
	return nil
}

// taskData is what a task's page shows.
type taskData struct {
	kvtask.Task
	Payload   string
	Truncated bool
	Terminal  bool
	Retryable bool
}

func (h *Handler) task(w http.ResponseWriter, r *http.Request) error {
	p, err := parseQuery(r, "id")
	if err != nil {
		return err
	}
	id, err := p.name("id")
	if err != nil {
		return err
	}
	if id == "" {
		return badRequest("parameter \"id\" is missing")
	}
	if h.cfg.Tasks == nil {
		return errorf(http.StatusNotFound, "no task scheduler configured")
	}
	t, ok, err := h.cfg.Tasks.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(http.StatusNotFound, "no task %q", id)
	}
	d := taskData{Task: t, Terminal: kvtask.Terminal(t.Status),
		Retryable: t.Status == kvtask.StatusFailed || t.Status == kvtask.StatusCancelled}
	d.Payload, d.Truncated = prettyJSON(t.Payload)
	h.render(w, r, http.StatusOK, "task", "Task "+t.ID, d)
	return nil
}

// formTask is the task an action's form names.
func (h *Handler) formTask(f *form) (string, error) {
	if h.cfg.Tasks == nil {
		return "", errorf(http.StatusNotFound, "no task scheduler configured")
	}
	id, err := f.name("id")
	if err == nil && id == "" {
		err = badRequest("form field \"id\" is missing")
	}
	return id, err
}

// cancelTask cancels a task and shows it.
func (h *Handler) cancelTask(w http.ResponseWriter, r *http.Request, f *form) error {
	id, err := h.formTask(f)
	if err != nil {
		return err
	}
	if _, err := h.cfg.Tasks.Cancel(r.Context(), id); err != nil {
		return err
	}
	seeOther(w, link("task", "id", id))
	return nil
}

// retryTask enqueues a fresh copy of a failed or cancelled task and shows
// the copy (or the task that holds its unique key).
func (h *Handler) retryTask(w http.ResponseWriter, r *http.Request, f *form) error {
	id, err := h.formTask(f)
	if err != nil {
		return err
	}
	t, _, err := h.cfg.Tasks.Retry(r.Context(), id)
	if err != nil {
		return err
	}
	seeOther(w, link("task", "id", t.ID))
	return nil
}

// enqueueTask adds a task from the form and shows it (or the task that
// holds its unique key).
func (h *Handler) enqueueTask(w http.ResponseWriter, r *http.Request, f *form) error {
	if h.cfg.Tasks == nil {
		return errorf(http.StatusNotFound, "no task scheduler configured")
	}
	name, err := f.name("name")
	if err != nil {
		return err
	}
	if name == "" {
		return badRequest("form field \"name\" is missing")
	}
	payload := f.str("payload")
	if payload == "" {
		payload = "null"
	}
	if !json.Valid([]byte(payload)) {
		return badRequest("form field \"payload\" is not a JSON document")
	}
	priority, err := f.int("priority", 0, kvtask.MinPriority, kvtask.MaxPriority)
	if err != nil {
		return err
	}
	retries, err := f.int("max_retries", 0, 0, kvtask.MaxRetriesLimit)
	if err != nil {
		return err
	}
	t := kvtask.NewTask(name, json.RawMessage(payload))
	t.Priority, t.MaxRetries, t.UniqueKey = int(priority), int(retries), f.str("unique_key")
	t, _, err = h.cfg.Tasks.Enqueue(r.Context(), t)
	if err != nil {
		return err
	}
	seeOther(w, link("task", "id", t.ID))
	return nil
}
