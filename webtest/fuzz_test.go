package webtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// pages are the dashboard's GET paths.
var pages = []string{"/", "/keys", "/key", "/stream", "/events", "/tasks", "/task", "/graph", "/graph.svg", "/static/style.css", "/nope"}

// FuzzQuery: whatever the query string and the Last-Event-ID header, no
// page of a seeded SQLite database answers 500 or panics, and a page that
// refuses answers 400 or 404 with an HTML page.
func FuzzQuery(f *testing.F) {
	for i, q := range []string{"", "ns=", "ns=*&type=x", "prefix=user/&after=user/0001", "key=user/0001", "after=%00", "ns=a&ns=b",
		"status=failed&name=email&page=1", "id=x", "type=User&id=alice&depth=3", "depth=-1", "%", "x=1", "after=18446744073709551616"} {
		f.Add(uint8(i), q, "")
	}
	f.Add(uint8(4), "after=1", "12")
	f.Add(uint8(4), "", "-3")
	e := openSQLite(f)
	seed(f, e, 10)
	h := e.dashboard(f, true)
	f.Fuzz(func(t *testing.T, page uint8, query, lastEventID string) {
		path := pages[int(page)%len(pages)]
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
		r.URL.Path, r.URL.RawQuery = path, query
		if lastEventID != "" {
			r.Header.Set("Last-Event-ID", lastEventID)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("GET %s?%s: %d %s", path, query, w.Code, w.Body)
		}
		if w.Code != 200 && !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s?%s: %d with %q", path, query, w.Code, w.Header().Get("Content-Type"))
		}
	})
}
