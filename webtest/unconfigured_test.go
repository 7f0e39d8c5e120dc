package webtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kvsuite/kv/kvweb"
)

// TestStoreOnly: a dashboard given only a store shows every page, saying
// what is not configured, and refuses what needs the missing parts.
func TestStoreOnly(t *testing.T) {
	e := openSQLite(t)
	seed(t, e, 3)
	h, err := kvweb.New(kvweb.Config{Store: e.store, AllowWrites: true})
	must(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	for path, want := range map[string]string{
		"":                         "No change stream configured",
		"keys":                     "user/0002",
		"stream":                   "No change stream configured",
		"tasks":                    "No task scheduler configured",
		"graph":                    "No graph configured",
		"graph?type=User&id=alice": "No graph configured",
		"static/style.css":         "font",
	} {
		code, body := fetch(t, srv.URL+"/"+path)
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET /%s: %d, want 200 with %q", path, code, want)
		}
	}
	if _, body := fetch(t, srv.URL+"/"); !strings.Contains(body, "No lease manager configured") {
		t.Error("the overview does not say there is no lease manager")
	}
	for path, want := range map[string]int{"events": 404, "task?id=x": 404, "graph.svg?type=User&id=alice": 404, "static/": 404, "static/nope.css": 404} {
		if code, _ := fetch(t, srv.URL+"/"+path); code != want {
			t.Errorf("GET /%s: %d, want %d", path, code, want)
		}
	}
	_, page := fetch(t, srv.URL+"/keys")
	if code, _, _ := post(t, srv.URL+"/cancel-task", map[string][]string{"id": {"x"}, "csrf": {csrfOf(t, page)}}); code != http.StatusNotFound {
		t.Errorf("cancel without a scheduler: %d, want 404", code)
	}
	if _, err := kvweb.New(kvweb.Config{}); err == nil {
		t.Error("kvweb.New without a store succeeded")
	}
}
