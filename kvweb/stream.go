package kvweb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
)

// tailWindow is how many of the newest stream entries the Stream page
// searches for the entries it shows first, and tailShown the most it
// shows.
const (
	tailWindow = 500
	tailShown  = 50
)

// anyNamespace is the ns parameter of the stream tail that means every
// namespace (as in kv consumer stream).
const anyNamespace = "*"

// streamData is what the Stream page shows.
type streamData struct {
	Configured bool
	Namespaces []string
	NS         string // anyNamespace or a namespace
	Type       string
	Consumers  []kvstream.ConsumerStatus
	Entries    []historyRow // newest first
	Window     int
	Events     string // the live tail's event stream
}

// tailFilter is a tail's namespace and type filter.
type tailFilter struct {
	ns     string
	anyNS  bool
	typ    string
	filter []kvstream.Filter
}

// tailQuery reads the query of a tail: its filter (ns and type) and the
// parameters named in extra.
func (h *Handler) tailQuery(r *http.Request, extra ...string) (params, tailFilter, error) {
	p, err := parseQuery(r, append([]string{"ns", "type"}, extra...)...)
	if err != nil {
		return p, tailFilter{}, err
	}
	f, err := parseTail(h.cfg.Store, p)
	return p, f, err
}

// parseTail reads the ns and type parameters.
func parseTail(store *kvcore.Store, p params) (tailFilter, error) {
	f := tailFilter{ns: p.str("ns"), anyNS: !p.has("ns") || p.str("ns") == anyNamespace}
	if !f.anyNS {
		if _, err := p.namespace(store, "ns"); err != nil {
			return f, err
		}
		f.filter = append(f.filter, kvstream.InNamespace(f.ns))
	} else {
		f.ns = anyNamespace
	}
	var err error
	if f.typ, err = p.name("type"); err != nil {
		return f, err
	}
	if f.typ != "" {
		f.filter = append(f.filter, kvstream.OfType(f.typ))
	}
	return f, nil
}

func (h *Handler) streamPage(w http.ResponseWriter, r *http.Request) error {
	_, f, err := h.tailQuery(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	d := streamData{Configured: h.cfg.Stream != nil, NS: f.ns, Type: f.typ, Window: tailWindow}
	if d.Namespaces, err = h.cfg.Store.Namespaces(ctx); err != nil {
		return err
	}
	if !f.anyNS && !slices.Contains(d.Namespaces, f.ns) {
		d.Namespaces = append(d.Namespaces, f.ns) // the filter's, even without keys now
		slices.Sort(d.Namespaces)
	}
	if s := h.cfg.Stream; s != nil {
		if d.Consumers, err = s.Consumers(ctx); err != nil {
			return err
		}
		first, last, err := s.Bounds(ctx)
		if err != nil {
			return err
		}
		if last > 0 {
			recs, err := s.Read(ctx, max(first, last-tailWindow+1, 1), tailWindow, f.filter...)
			if err != nil {
				return err
			}
			for i := len(recs) - 1; i >= 0 && len(d.Entries) < tailShown; i-- {
				d.Entries = append(d.Entries, historyRow{Record: recs[i], Preview: preview(recs[i].Value, 100)})
			}
		}
		d.Events = link("events", "ns!", f.ns, "type", f.typ, "after", strconv.FormatInt(last, 10))
	}
	h.render(w, r, http.StatusOK, "stream", "Stream", d)
	return nil
}

// event is a stream entry as the live tail sends it.
type event struct {
	Seq       int64  `json:"seq"`
	Namespace string `json:"namespace"`
	Key       string `json:"key"`
	Action    string `json:"action"`
	Version   int64  `json:"version"`
	Type      string `json:"type"`
	Time      string `json:"time"`
	Value     string `json:"value"` // a preview
	Link      string `json:"link"`  // the record's page
}

// tailBatch is the most entries one read of a live tail takes.
const tailBatch = 100

// events is the live tail: a server-sent event stream of the entries after
// the "after" seq (or the Last-Event-ID a reconnecting browser sends) that
// pass the filter, until the client goes away. Each entry is an "entry"
// event whose id is its seq; a position that was trimmed away is skipped
// with a "notice" event.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) error {
	p, f, err := h.tailQuery(r, "after")
	if err != nil {
		return err
	}
	after, err := p.int("after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if after, err = strconv.ParseInt(id, 10, 64); err != nil || after < 0 {
			return badRequest("header Last-Event-ID is %q: want a seq", id)
		}
	}
	s := h.cfg.Stream
	if s == nil {
		return errorf(http.StatusNotFound, "no change stream configured")
	}
	select {
	case h.tails <- struct{}{}:
		defer func() { <-h.tails }()
	default:
		return errorf(http.StatusServiceUnavailable, "too many live tails open (%d)", h.cfg.MaxLiveTails)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(format string, args ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(": kv stream tail after seq %d\n\n", after) {
		return nil
	}
	ctx := r.Context()
	tick := time.NewTicker(h.cfg.PollInterval)
	defer tick.Stop()
	lastWrite := time.Now()
	for {
		n, next, err := h.sendEntries(ctx, s, f, after, send)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, kvstream.ErrTrimmed):
			var te *kvstream.TrimmedError
			if errors.As(err, &te) {
				next = te.Start - 1
			}
			if !send("event: notice\ndata: entries up to seq %d were trimmed away\n\n", next) {
				return nil
			}
		case err != nil:
			h.cfg.Logger.Warn("kvweb: live tail failed", "err", err)
			send("event: failure\ndata: %s\n\n", jsonString(err.Error()))
			return nil
		case n < 0:
			return nil // the client went away
		}
		if n > 0 {
			lastWrite = time.Now()
		}
		after = next
		if n == tailBatch {
			continue // more are waiting
		}
		if time.Since(lastWrite) > 15*time.Second {
			if !send(": idle\n\n") {
				return nil
			}
			lastWrite = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// sendEntries sends the entries after seq after that pass f, up to
// tailBatch, and returns how many it sent (-1 if sending failed) and the
// seq the next read starts after: the last entry sent, or, when fewer than
// tailBatch matched, the stream's last seq before the read (every entry up
// to it was seen, matching or not).
func (h *Handler) sendEntries(ctx context.Context, s *kvstream.Stream, f tailFilter, after int64, send func(string, ...any) bool) (int, int64, error) {
	_, last, err := s.Bounds(ctx)
	if err != nil {
		return 0, after, err
	}
	if last <= after {
		return 0, after, nil
	}
	recs, err := s.Read(ctx, after+1, tailBatch, f.filter...)
	if err != nil {
		return 0, after, err
	}
	for _, rec := range recs {
		b, err := json.Marshal(event{Seq: rec.Seq, Namespace: rec.Namespace, Key: rec.Key, Action: rec.Action, Version: rec.Version,
			Type: rec.Type, Time: formatTime(rec.Time), Value: preview(rec.Value, 100), Link: link("key", "ns", rec.Namespace, "key", rec.Key)})
		if err != nil {
			return 0, after, err
		}
		if !send("id: %d\nevent: entry\ndata: %s\n\n", rec.Seq, b) {
			return -1, after, nil
		}
		after = rec.Seq
	}
	if len(recs) < tailBatch {
		after = max(after, last)
	}
	return len(recs), after, nil
}

// jsonString is s as a JSON string (one line, for an event's data).
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
