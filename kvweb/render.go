package kvweb

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pageTemplate is one page: the layout with the page's content.
type pageTemplate struct {
	t *template.Template
}

// pageNames are the pages, each templates/<name>.html.
var pageNames = []string{"error", "overview", "keys", "key", "stream", "tasks", "task", "graph"}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"time":  formatTime,
	"timep": formatTimePtr,
	"ns":    nsLabel,
	"link":  link,
}

func parsePages() (map[string]*pageTemplate, error) {
	pages := map[string]*pageTemplate{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("kvweb: template %s: %w", name, err)
		}
		pages[name] = &pageTemplate{t: t}
	}
	return pages, nil
}

// view is what the layout gets: the page's title and section, the
// dashboard's settings, and the page's own data.
type view struct {
	Title    string
	Section  string
	Backend  string
	Database string
	Writes   bool
	CSRF     string
	Data     any
}

// render writes page with data, answering status. The page is rendered
// into a buffer first, so a template error is a clean 500.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page, title string, data any) {
	v := view{Title: title, Section: page, Backend: h.cfg.Backend, Database: h.cfg.Database,
		Writes: h.cfg.AllowWrites, CSRF: h.csrf, Data: data}
	var buf bytes.Buffer
	if err := h.pages[page].t.Execute(&buf, v); err != nil {
		h.cfg.Logger.Error("kvweb: rendering a page failed", "page", page, "path", r.URL.Path, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// formatTime shows a time in UTC to the millisecond.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}

// formatTimePtr is formatTime of *t, or "never" for nil.
func formatTimePtr(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return formatTime(*t)
}

// nsLabel names a namespace, the default one included.
func nsLabel(ns string) string {
	if ns == "" {
		return "(default)"
	}
	return ns
}

// link returns the relative URL of page with the query pairs kv (name,
// value, name, value...); pairs with an empty value are left out unless
// the name ends in "!" (which is dropped).
func link(page string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		name, keep := strings.CutSuffix(kv[i], "!")
		if kv[i+1] != "" || keep {
			q.Set(name, kv[i+1])
		}
	}
	if len(q) == 0 {
		return page
	}
	return page + "?" + q.Encode()
}

// maxShown is the most bytes of a value a record's page shows.
const maxShown = 256 << 10

// prettyJSON indents a JSON document (keeping its numbers' text) and cuts
// it at maxShown bytes, saying whether it did.
func prettyJSON(doc []byte) (string, bool) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, doc, "", "  "); err != nil {
		buf.Reset()
		buf.Write(doc)
	}
	return cut(buf.String(), maxShown)
}

// preview is the start of a JSON document on one line, at most n bytes.
func preview(doc []byte, n int) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, doc); err != nil {
		buf.Reset()
		buf.Write(doc)
	}
	s, cutShort := cut(buf.String(), n)
	if cutShort {
		s += "…"
	}
	return s
}

// cut returns s cut at n bytes on a rune boundary, and whether it cut.
func cut(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}
