package kvweb

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
	"github.com/kvsuite/kv/kvtask"
)

// overviewData is what the Overview page shows.
type overviewData struct {
	Schema     struct{ Applied, Required int }
	Namespaces []nsCount
	Stream     *streamExtent // nil without a stream
	Consumers  []kvstream.ConsumerStatus
	Tasks      []statusCount // nil without tasks
	Leases     []kvlock.Lease
	HasLeases  bool
}

type nsCount struct {
	Name string
	Keys int
}

type statusCount struct {
	Status kvtask.Status
	Tasks  int
}

// streamExtent is the stream's first and last seq, its length, and its
// recent write rate.
type streamExtent struct {
	First, Last, Length int64
	Rate                string
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	ctx := r.Context()
	var d overviewData
	var err error
	if d.Schema.Applied, d.Schema.Required, err = h.cfg.Store.SchemaVersion(ctx); err != nil {
		return err
	}
	if d.Namespaces, err = h.namespaceCounts(ctx); err != nil {
		return err
	}
	if s := h.cfg.Stream; s != nil {
		first, last, err := s.Bounds(ctx)
		if err != nil {
			return err
		}
		d.Stream = &streamExtent{First: first, Last: last, Length: max(0, last-first+1), Rate: writeRate(ctx, s, first, last)}
		if d.Consumers, err = s.Consumers(ctx); err != nil {
			return err
		}
	}
	if h.cfg.Tasks != nil {
		counts, err := h.cfg.Tasks.Counts(ctx)
		if err != nil {
			return err
		}
		d.Tasks = byStatus(counts)
	}
	if h.cfg.Locker != nil {
		d.HasLeases = true
		if d.Leases, err = h.cfg.Locker.Leases(ctx, ""); err != nil {
			return err
		}
	}
	h.render(w, r, http.StatusOK, "overview", "Overview", d)
	return nil
}

// namespaceCounts returns the live keys of each namespace that holds any.
func (h *Handler) namespaceCounts(ctx context.Context) ([]nsCount, error) {
	names, err := h.cfg.Store.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]nsCount, 0, len(names))
	for _, name := range names {
		s, err := h.cfg.Store.Namespace(name)
		if err != nil {
			return nil, err
		}
		n, err := s.Count(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, nsCount{name, n})
	}
	return out, nil
}

// byStatus sums counts by status, in the statuses' order, every status
// shown.
func byStatus(counts []kvtask.Count) []statusCount {
	by := map[kvtask.Status]int{}
	for _, c := range counts {
		by[c.Status] += c.Tasks
	}
	var out []statusCount
	for _, st := range kvtask.Statuses() {
		out = append(out, statusCount{st, by[st]})
	}
	return out
}

// rateWindow is how many of the newest stream entries the write rate is
// judged from.
const rateWindow = 200

// writeRate estimates the stream's writes per second over the last minute
// from its newest entries: their number in the minute, or, if every one of
// the rateWindow newest is in it, their number over the time they span.
// It returns "-" if it cannot tell.
func writeRate(ctx context.Context, s *kvstream.Stream, first, last int64) string {
	if last == 0 {
		return "0/s"
	}
	recs, err := s.Read(ctx, max(first, last-rateWindow+1, 1), rateWindow)
	if err != nil || len(recs) == 0 {
		return "-"
	}
	now := s.Now()
	inMinute := 0
	for _, rec := range recs {
		if now.Sub(rec.Time) <= time.Minute {
			inMinute++
		}
	}
	if inMinute == len(recs) && len(recs) == rateWindow {
		span := now.Sub(recs[0].Time).Seconds()
		if span > 0 {
			return fmt.Sprintf("%.1f/s", float64(len(recs))/span)
		}
	}
	return fmt.Sprintf("%.1f/s", float64(inMinute)/60)
}
