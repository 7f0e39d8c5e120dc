package kvweb

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kvsuite/kv/kvcore"
)

func request(query string) *http.Request {
	return httptest.NewRequest(http.MethodGet, "/keys?"+query, nil)
}

// Unknown, repeated and malformed parameters, and values out of range, are
// 400 errors that name the parameter; good ones parse.
func TestParams(t *testing.T) {
	for _, c := range []struct {
		query, want string
	}{
		{"bogus=1", `unknown query parameter "bogus"`},
		{"ns=a&ns=b", `query parameter "ns" given 2 times`},
		{"ns=%zz", "malformed query string"},
		{"page=-1", `parameter "page" is "-1": want a whole number from 0 to 10`},
		{"page=1e3", `parameter "page" is "1e3"`},
		{"page=99999999999999999999", `parameter "page"`},
		{"after=a%00b", `parameter "after": invalid key`},
		{"prefix=" + strings.Repeat("x", kvcore.MaxKeyLen+1), `parameter "prefix"`},
		{"status=sleeping", `parameter "status"`},
		{"name=%ff", `parameter "name"`},
	} {
		p, err := parseQuery(request(c.query), "ns", "page", "after", "prefix", "status", "name")
		if err == nil {
			_, err = p.int("page", 0, 0, 10)
		}
		if err == nil {
			_, err = p.key("after", false)
		}
		if err == nil {
			_, err = p.prefix("prefix")
		}
		if err == nil {
			_, err = p.status("status")
		}
		if err == nil {
			_, err = p.name("name")
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || statusOf(err) != http.StatusBadRequest {
			t.Errorf("query %q: %v (status %d), want 400 with %q", c.query, err, statusOf(err), c.want)
		}
	}
	p, err := parseQuery(request("ns=a%2Fb&page=7&after=k%20y"), "ns", "page", "after")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.int("page", 0, 0, 10); n != 7 || err != nil {
		t.Errorf("page = %d, %v", n, err)
	}
	if k, err := p.key("after", true); k != "k y" || err != nil {
		t.Errorf("after = %q, %v", k, err)
	}
	if n, err := p.int("missing", 3, 0, 10); n != 3 || err != nil {
		t.Errorf("a missing parameter = %d, %v: want its default", n, err)
	}
	if _, err := p.key("missing", true); statusOf(err) != http.StatusBadRequest {
		t.Errorf("a missing required key: %v", err)
	}
}

// FuzzParams: whatever the query string, parsing it and reading it as each
// kind of parameter never panics, and every error is a 400 that a page
// shows.
func FuzzParams(f *testing.F) {
	for _, s := range []string{"", "ns=a", "page=3", "after=%00", "ns=a&ns=b", "x=%", "status=failed&name=mail", "depth=9999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.RawQuery = query
		p, err := parseQuery(r, "ns", "page", "after", "prefix", "status", "name", "depth")
		errs := []error{err}
		if err == nil {
			_, e1 := p.int("page", 0, 0, 1<<40)
			_, e2 := p.key("after", false)
			_, e3 := p.prefix("prefix")
			_, e4 := p.status("status")
			_, e5 := p.name("name")
			_, e6 := p.graphName("ns")
			_, e7 := p.int("depth", 1, 1, 5)
			errs = append(errs, e1, e2, e3, e4, e5, e6, e7)
		}
		for _, err := range errs {
			if err != nil && statusOf(err) != http.StatusBadRequest {
				t.Fatalf("query %q: %v is not a 400", query, err)
			}
			if err != nil && !utf8.ValidString(err.Error()) {
				t.Fatalf("query %q: error %q is not UTF-8", query, err)
			}
		}
	})
}

func TestLink(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{link("keys"), "keys"},
		{link("keys", "ns", "", "prefix", "a&b"), "keys?prefix=a%26b"},
		{link("events", "ns!", "", "after", "3"), "events?after=3&ns="},
		{link("key", "ns", "x", "key", "<a href='j'>\n"), "key?key=%3Ca+href%3D%27j%27%3E%0A&ns=x"},
	} {
		if c.got != c.want {
			t.Errorf("link = %q, want %q", c.got, c.want)
		}
	}
}

func TestPreviewAndPretty(t *testing.T) {
	if got := preview([]byte(`{"a": 1,  "b":[1, 2]}`), 100); got != `{"a":1,"b":[1,2]}` {
		t.Errorf("preview = %q", got)
	}
	if got := preview([]byte(`"ééééé"`), 4); got != `"é…` {
		t.Errorf("preview cut = %q, want a whole rune then an ellipsis", got)
	}
	if got, cut := prettyJSON([]byte(`{"n":1.000000000000000001}`)); got != "{\n  \"n\": 1.000000000000000001\n}" || cut {
		t.Errorf("prettyJSON = %q, %v", got, cut)
	}
	big := `"` + strings.Repeat("x", maxShown) + `"`
	if got, cut := prettyJSON([]byte(big)); len(got) != maxShown || !cut {
		t.Errorf("prettyJSON of %d bytes: %d bytes, cut %v", len(big), len(got), cut)
	}
}

func TestStatusOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{badRequest("x"), 400},
		{errorf(403, "x"), 403},
		{kvcore.ErrInvalidKey, 400},
		{kvcore.ErrNotFound, 404},
		{kvcore.ErrVersionMismatch, 409},
		{errors.New("disk on fire"), 500},
	} {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("statusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// RequireToken lets through a request with the token in a header or in
// the cookie a ?token= visit sets (after a redirect that drops it from the
// address), and refuses every other request.
func TestRequireToken(t *testing.T) {
	const token = "correct-horse-battery"
	h := RequireToken(token, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok " + r.URL.RawQuery))
	}))
	do := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/", nil),
		httptest.NewRequest("GET", "/?token=wrong", nil),
		httptest.NewRequest("GET", "/?token=", nil),
		withHeader(httptest.NewRequest("GET", "/", nil), "Authorization", "Bearer wrong"),
		withHeader(httptest.NewRequest("GET", "/", nil), "Authorization", token),
		withHeader(httptest.NewRequest("GET", "/", nil), "Cookie", tokenCookie+"=wrong"),
		withHeader(httptest.NewRequest("POST", "/cancel-task", nil), "Cookie", "other="+token),
	} {
		if w := do(r); w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), token) {
			t.Errorf("%s %s %v: %d %q, want 401", r.Method, r.URL, r.Header, w.Code, w.Body)
		}
	}
	if w := do(withHeader(httptest.NewRequest("GET", "/metrics", nil), "Authorization", "Bearer "+token)); w.Code != 200 {
		t.Errorf("bearer token: %d", w.Code)
	}
	w := do(httptest.NewRequest("GET", "/kv/keys?ns=a&token="+url.QueryEscape(token), nil))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/kv/keys?ns=a" {
		t.Fatalf("?token= visit: %d to %q", w.Code, w.Header().Get("Location"))
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies %v", cookies)
	}
	r := httptest.NewRequest("GET", "/kv/keys?ns=a", nil)
	r.AddCookie(cookies[0])
	if w := do(r); w.Code != 200 || w.Body.String() != "ok ns=a" {
		t.Errorf("with the cookie: %d %q", w.Code, w.Body)
	}
	// A redirect never leaves the server, whatever the request's path.
	w = do(httptest.NewRequest("GET", "//evil.example/x?token="+token, nil))
	if loc := w.Header().Get("Location"); loc != "/evil.example/x" {
		t.Errorf("redirect of //evil.example/x to %q", loc)
	}
}

// An empty token lets nothing through, not even an empty one.
func TestRequireEmptyToken(t *testing.T) {
	h := RequireToken("", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/?token=", nil),
		withHeader(httptest.NewRequest("GET", "/", nil), "Authorization", "Bearer "),
		withHeader(httptest.NewRequest("GET", "/", nil), "Cookie", tokenCookie+"="),
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%v: %d, want 401", r.Header, w.Code)
		}
	}
}

func withHeader(r *http.Request, name, value string) *http.Request {
	r.Header.Set(name, value)
	return r
}

func TestRequireHost(t *testing.T) {
	h := RequireHost([]string{"localhost", "127.0.0.1", "::1"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for host, want := range map[string]int{
		"localhost:8080": 200, "LOCALHOST": 200, "127.0.0.1:1": 200, "[::1]:8080": 200,
		"evil.example:8080": 421, "127.0.0.2": 421, "": 421, "localhost.evil.example": 421,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %q: %d, want %d", host, w.Code, want)
		}
	}
}
