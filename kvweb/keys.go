package kvweb

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
)

// keysPage is how many records the Keys page lists at a time.
const keysPage = 50

// keysData is what the Keys page shows.
type keysData struct {
	Namespaces []string
	NS         string
	Prefix     string
	After      string
	Records    []recordRow
	Next       string // the next page's link, "" on the last page
	First      string // the first page's link, "" on it
}

// recordRow is a record in a list.
type recordRow struct {
	kvcore.Record
	Link    string
	Preview string
}

func (h *Handler) keys(w http.ResponseWriter, r *http.Request) error {
	p, err := parseQuery(r, "ns", "prefix", "after")
	if err != nil {
		return err
	}
	store, err := p.namespace(h.cfg.Store, "ns")
	if err != nil {
		return err
	}
	prefix, err := p.prefix("prefix")
	if err != nil {
		return err
	}
	after, err := p.key("after", false)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ns := store.NamespaceName()
	d := keysData{NS: ns, Prefix: prefix, After: after}
	if d.Namespaces, err = h.cfg.Store.Namespaces(ctx); err != nil {
		return err
	}
	if !slices.Contains(d.Namespaces, ns) {
		d.Namespaces = append(d.Namespaces, ns)
		slices.Sort(d.Namespaces)
	}
	// One query of a page and one record more: that record says whether
	// there is a next page. The page starts after the last key shown.
	opts := []kvcore.IterOption{kvcore.PageSize(keysPage + 1)}
	if after != "" {
		opts = append(opts, kvcore.StartAfter(after))
	}
	more := false
	for rec, err := range store.AllPrefix(ctx, prefix, opts...) {
		if err != nil {
			return err
		}
		if len(d.Records) == keysPage {
			more = true
			break
		}
		d.Records = append(d.Records, recordRow{Record: rec, Link: link("key", "ns", ns, "key", rec.Key), Preview: preview(rec.Value, 100)})
	}
	if more {
		d.Next = link("keys", "ns", ns, "prefix", prefix, "after", d.Records[len(d.Records)-1].Key)
	}
	if after != "" {
		d.First = link("keys", "ns", ns, "prefix", prefix)
	}
	h.render(w, r, http.StatusOK, "keys", "Keys", d)
	return nil
}

// keyData is what a record's page shows.
type keyData struct {
	NS        string
	Record    kvcore.Record
	Value     string
	Truncated bool
	// History is the record's changes among the Window newest stream
	// entries of its namespace, newest first; HistoryErr says why there
	// is none to show.
	History    []historyRow
	Window     int
	HistoryErr string
	Version    string
	Back       string
}

// historyRow is a stream entry of a record.
type historyRow struct {
	kvstream.Record
	Preview string
}

func (h *Handler) key(w http.ResponseWriter, r *http.Request) error {
	p, err := parseQuery(r, "ns", "key")
	if err != nil {
		return err
	}
	store, err := p.namespace(h.cfg.Store, "ns")
	if err != nil {
		return err
	}
	key, err := p.key("key", true)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ns := store.NamespaceName()
	rec, ok, err := store.Get(ctx, key, nil)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(http.StatusNotFound, "no key %q in namespace %s", key, nsLabel(ns))
	}
	d := keyData{NS: ns, Record: rec, Window: h.cfg.KeyHistory, Version: strconv.FormatInt(rec.Version, 10),
		Back: link("keys", "ns", ns)}
	d.Value, d.Truncated = prettyJSON(rec.Value)
	if h.cfg.Stream == nil {
		d.HistoryErr = "no change stream configured"
	} else if d.History, err = keyHistory(ctx, h.cfg.Stream, ns, key, h.cfg.KeyHistory); err != nil {
		d.HistoryErr = err.Error()
	}
	h.render(w, r, http.StatusOK, "key", key, d)
	return nil
}

// keyHistory returns key's entries among the window newest stream entries
// of namespace ns, newest first. The stream has no index by key, so the
// window bounds what one page view reads.
func keyHistory(ctx context.Context, s *kvstream.Stream, ns, key string, window int) ([]historyRow, error) {
	first, last, err := s.Bounds(ctx)
	if err != nil || last == 0 {
		return nil, err
	}
	recs, err := s.Read(ctx, max(first, last-int64(window)+1, 1), window, kvstream.InNamespace(ns))
	if err != nil {
		return nil, fmt.Errorf("reading the stream: %w", err)
	}
	var out []historyRow
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Key == key {
			out = append(out, historyRow{Record: recs[i], Preview: preview(recs[i].Value, 100)})
		}
	}
	return out, nil
}

// deleteKey deletes a key at the version its page showed.
func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request, f *form) error {
	store, err := f.namespace(h.cfg.Store, "ns")
	if err != nil {
		return err
	}
	key, err := f.key("key", true)
	if err != nil {
		return err
	}
	version, err := f.int("version", 0, 1, 1<<62)
	if err != nil {
		return err
	}
	if version == 0 {
		return badRequest("form field \"version\" is missing")
	}
	if _, err := store.DeleteVersion(r.Context(), key, version); err != nil {
		return err
	}
	seeOther(w, link("keys", "ns", store.NamespaceName()))
	return nil
}
