package webtest

import (
	"bufio"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask"
)

// client does not follow redirects, so that tests see them.
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// fetch GETs u and returns the status and body.
func fetch(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// post sends a form and returns the status, the redirect's target and the
// body.
func post(t *testing.T, u string, form url.Values, header ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

var csrfMeta = regexp.MustCompile(`<meta name="kv-csrf" content="([0-9a-f]+)">`)

// csrfOf returns the CSRF token of a page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfMeta.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page has no CSRF token")
	}
	return m[1]
}

// hrefs returns the links of a page (unescaped).
func hrefs(page string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// TestPages: every page of a seeded database answers 200 on every backend,
// shows what it should, escapes every hostile text, and every link it
// holds leads to a page that answers 200.
func TestPages(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := b.open(t)
			s := seed(t, e, 120)
			srv := httptest.NewServer(e.dashboard(t, true))
			defer srv.Close()
			base := srv.URL + "/"
			for _, c := range []struct {
				path string
				want []string
			}{
				{"", []string{b.name, "test database", "<td class=\"num\">122</td>", escaped(s.consumer), escaped(hostileOwner), "report " + escaped(hostileNode)}},
				{"keys", []string{"user/0000", "user/0047", escaped(hostileKey), `id="next"`}},
				{"keys?ns=" + url.QueryEscape(hostileNS), []string{escaped(hostileKey + "/in-ns")}},
				{"keys?prefix=user/01", []string{"user/0100", "user/0119"}},
				{"key?key=" + url.QueryEscape(hostileKey), []string{escaped(hostileKey), escaped(hostileType), `&lt;/pre&gt;&lt;b id=\&#34;pwned\&#34;&gt;value&lt;/b&gt;`, "create"}},
				{"key?key=" + url.QueryEscape(hostileLink), []string{escaped(hostileTrailer)}},
				{"stream", []string{escaped(s.consumer), escaped(hostileKey), `data-events="events?after=`}},
				{"stream?ns=&type=" + url.QueryEscape(hostileType), []string{escaped(hostileKey)}},
				{"stream?ns=empty", []string{`<option value="empty" selected>empty</option>`}},
				{"tasks", []string{escaped(hostileTask), escaped(hostileError), "nightly " + escaped(hostileNode), s.pending.ID}},
				{"tasks?status=failed", []string{s.failed.ID}},
				{"task?id=" + s.failed.ID, []string{escaped(hostileError), escaped(hostileTask), `id="retry"`}},
				{"task?id=" + s.running.ID, []string{escaped(hostileOwner), `id="cancel"`}},
				{"graph", []string{"User:alice", escaped(hostileType) + ":" + escaped(hostileNode)}},
				{"graph?type=User&id=bob&depth=2", []string{"User:alice", escaped(hostileNode)}},
			} {
				code, body := fetch(t, base+c.path)
				if code != 200 {
					t.Errorf("GET /%s: %d %.300s", c.path, code, body)
					continue
				}
				checkEscaped(t, "GET /"+c.path, body)
				for _, w := range c.want {
					if !strings.Contains(body, w) {
						t.Errorf("GET /%s does not show %q", c.path, w)
					}
				}
				for _, h := range hrefs(body) {
					if h == "./" || strings.HasPrefix(h, "static/") {
						continue
					}
					if code, _ := fetch(t, base+h); code != 200 {
						t.Errorf("GET /%s links to %q, which answers %d", c.path, h, code)
					}
				}
			}
			// The picture of a node whose names are hostile is escaped by
			// Graphviz, and served as an image that may run nothing.
			resp, err := client.Get(base + "graph.svg?depth=1&type=" + url.QueryEscape(hostileType) + "&id=" + url.QueryEscape(hostileNode))
			must(t, err)
			svg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
					t.Errorf("graph.svg headers %v", resp.Header)
				}
				checkEscaped(t, "graph.svg", string(svg))
			} else if resp.StatusCode != http.StatusNotFound {
				t.Errorf("graph.svg: %d %s", resp.StatusCode, svg)
			}
		})
	}
}

// TestKeysCursor: paging through the keys follows the cursor (the last key
// of a page) and shows each key exactly once, in order.
func TestKeysCursor(t *testing.T) {
	e := openSQLite(t)
	seed(t, e, 120)
	srv := httptest.NewServer(e.dashboard(t, false))
	defer srv.Close()
	keyLink := regexp.MustCompile(`<td class="key"><a href="key\?key=([^"&]*)">`)
	next := "keys?prefix=user/"
	var keys []string
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("too many pages")
		}
		code, body := fetch(t, srv.URL+"/"+next)
		if code != 200 {
			t.Fatalf("GET /%s: %d", next, code)
		}
		for _, m := range keyLink.FindAllStringSubmatch(body, -1) {
			k, _ := url.QueryUnescape(m[1])
			keys = append(keys, k)
		}
		next = ""
		for _, h := range hrefs(body) {
			if strings.HasPrefix(h, "keys?after=") {
				if !strings.Contains(h, "after="+url.QueryEscape(keys[len(keys)-1])) {
					t.Fatalf("the next page's link %q does not start after the last key shown, %q", h, keys[len(keys)-1])
				}
				next = h
			}
		}
	}
	if len(keys) != 120 {
		t.Fatalf("%d keys shown, want 120", len(keys))
	}
	for i, k := range keys {
		if want := "user/" + pad4(i); k != want {
			t.Fatalf("key %d is %q, want %q", i, k, want)
		}
	}
}

func pad4(i int) string { return strings.Repeat("0", 4-len(itoa(i))) + itoa(i) }

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestBadQueries: a parameter that is unknown, repeated, malformed or out
// of range gets a 400 page that names it, on every page; nothing gets a
// 500.
func TestBadQueries(t *testing.T) {
	e := openSQLite(t)
	s := seed(t, e, 3)
	srv := httptest.NewServer(e.dashboard(t, true))
	defer srv.Close()
	for _, c := range []struct{ path, want string }{
		{"?x=1", `unknown query parameter &#34;x&#34;`},
		{"keys?ns=a&ns=b", `given 2 times`},
		{"keys?after=%00", `parameter &#34;after&#34;`},
		{"keys?prefix=%ff", `parameter &#34;prefix&#34;`},
		{"keys?ns=%zz", "malformed query string"},
		{"key", `parameter &#34;key&#34;`},
		{"key?key=" + strings.Repeat("k", 1025), `parameter &#34;key&#34;`},
		{"stream?ns=%00", `parameter &#34;ns&#34;`},
		{"stream?type=", ""},
		{"events?after=-1", `parameter &#34;after&#34;`},
		{"events?after=abc", `parameter &#34;after&#34;`},
		{"tasks?status=sleeping", `parameter &#34;status&#34;`},
		{"tasks?page=-2", `parameter &#34;page&#34;`},
		{"tasks?page=99999999999999999999999", `parameter &#34;page&#34;`},
		{"task", `parameter &#34;id&#34; is missing`},
		{"task?id=%00", `parameter &#34;id&#34;`},
		{"graph?type=User", `give both or neither`},
		{"graph?type=User&id=a&depth=6", `parameter &#34;depth&#34;`},
		{"graph?type=User&id=a&depth=0", `parameter &#34;depth&#34;`},
		{"graph.svg", `missing`},
	} {
		code, body := fetch(t, srv.URL+"/"+c.path)
		if c.want == "" {
			if code != 200 {
				t.Errorf("GET /%s: %d", c.path, code)
			}
			continue
		}
		if code != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("GET /%s: %d, want 400 naming %q: %.400s", c.path, code, c.want, between(body, `id="error-message">`, "<"))
		}
	}
	for _, c := range []struct {
		path string
		code int
	}{
		{"nope", 404}, {"key?key=missing", 404}, {"task?id=missing", 404}, {"task?id=" + s.pending.ID, 200},
	} {
		if code, _ := fetch(t, srv.URL+"/"+c.path); code != c.code {
			t.Errorf("GET /%s: %d, want %d", c.path, code, c.code)
		}
	}
}

// between returns the text of s between the first start and the next end.
func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, end)
	return v
}

// TestActions: with writes allowed, a POST with the page's CSRF token
// cancels, retries and enqueues tasks and deletes a key at a version; a
// POST without the token, with a wrong one, from another origin, or with
// writes not allowed is refused and changes nothing.
func TestActions(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			e := b.open(t)
			s := seed(t, e, 3)
			rw := httptest.NewServer(e.dashboard(t, true))
			defer rw.Close()
			ro := httptest.NewServer(e.dashboard(t, false))
			defer ro.Close()
			_, page := fetch(t, rw.URL+"/task?id="+s.pending.ID)
			token := csrfOf(t, page)
			_, roPage := fetch(t, ro.URL+"/task?id="+s.pending.ID)
			roToken := csrfOf(t, roPage)
			if strings.Contains(roPage, `id="cancel"`) || !strings.Contains(roPage, "Read-only") {
				t.Error("the read-only page offers the cancel action")
			}
			statusOf := func(id string) kvtask.Status {
				task, ok, err := e.tasks.Get(ctx, id)
				must(t, err)
				if !ok {
					t.Fatalf("task %s is gone", id)
				}
				return task.Status
			}

			// Refused: each leaves the pending task pending.
			for _, c := range []struct {
				name   string
				url    string
				form   url.Values
				header []string
			}{
				{"no token", rw.URL + "/cancel-task", url.Values{"id": {s.pending.ID}}, nil},
				{"wrong token", rw.URL + "/cancel-task", url.Values{"id": {s.pending.ID}, "csrf": {strings.Repeat("0", 64)}}, nil},
				{"the other server's token", rw.URL + "/cancel-task", url.Values{"id": {s.pending.ID}, "csrf": {roToken}}, nil},
				{"cross-site", rw.URL + "/cancel-task", url.Values{"id": {s.pending.ID}, "csrf": {token}}, []string{"Sec-Fetch-Site", "cross-site"}},
				{"another origin", rw.URL + "/cancel-task", url.Values{"id": {s.pending.ID}, "csrf": {token}}, []string{"Origin", "http://evil.example"}},
				{"read-only", ro.URL + "/cancel-task", url.Values{"id": {s.pending.ID}, "csrf": {roToken}}, nil},
			} {
				code, _, body := post(t, c.url, c.form, c.header...)
				if code != http.StatusForbidden || !strings.Contains(body, "refused") {
					t.Errorf("%s: %d %.200s", c.name, code, between(body, `id="error-message">`, "<"))
				}
				if st := statusOf(s.pending.ID); st != kvtask.StatusPending {
					t.Fatalf("%s: the task is now %s", c.name, st)
				}
			}
			if code, _, _ := post(t, rw.URL+"/cancel-task?id="+s.pending.ID, url.Values{"csrf": {token}}); code != http.StatusBadRequest {
				t.Errorf("an action with its fields in the query: %d", code)
			}
			if code, _, _ := post(t, rw.URL+"/cancel-task", url.Values{"csrf": {token}, "id": {s.pending.ID}, "bogus": {"1"}}); code != http.StatusBadRequest {
				t.Errorf("an action with an unknown field: %d", code)
			}

			// Allowed.
			code, loc, _ := post(t, rw.URL+"/cancel-task", url.Values{"id": {s.pending.ID}, "csrf": {token}})
			if code != http.StatusSeeOther || loc != "task?id="+s.pending.ID || statusOf(s.pending.ID) != kvtask.StatusCancelled {
				t.Errorf("cancel: %d to %q, task %s", code, loc, statusOf(s.pending.ID))
			}
			code, loc, _ = post(t, rw.URL+"/retry-task", url.Values{"id": {s.failed.ID}, "csrf": {token}})
			newID := strings.TrimPrefix(loc, "task?id=")
			if code != http.StatusSeeOther || newID == s.failed.ID || statusOf(newID) != kvtask.StatusPending || statusOf(s.failed.ID) != kvtask.StatusFailed {
				t.Errorf("retry: %d to %q", code, loc)
			}
			if code, _, body := post(t, rw.URL+"/retry-task", url.Values{"id": {s.running.ID}, "csrf": {token}}); code != http.StatusBadRequest {
				t.Errorf("retry of a running task: %d %s", code, between(body, `id="error-message">`, "<"))
			}
			code, loc, _ = post(t, rw.URL+"/enqueue-task", url.Values{"name": {"email"}, "payload": {`{"to":"bob"}`}, "priority": {"3"}, "max_retries": {"2"}, "unique_key": {"welcome/bob"}, "csrf": {token}})
			added, ok, err := e.tasks.Get(ctx, strings.TrimPrefix(loc, "task?id="))
			must(t, err)
			if code != http.StatusSeeOther || !ok || added.Priority != 3 || added.MaxRetries != 2 || added.UniqueKey != "welcome/bob" || string(added.Payload) != `{"to":"bob"}` {
				t.Errorf("enqueue: %d to %q: %+v", code, loc, added)
			}
			for _, bad := range []url.Values{{"name": {""}}, {"name": {"x"}, "payload": {"{"}}, {"name": {"x"}, "priority": {"1.5"}}, {"name": {"x"}, "max_retries": {"-1"}}} {
				bad.Set("csrf", token)
				if code, _, _ := post(t, rw.URL+"/enqueue-task", bad); code != http.StatusBadRequest {
					t.Errorf("enqueue %v: %d, want 400", bad, code)
				}
			}
			// A key is deleted at the version its page showed; a stale
			// version is a conflict that deletes nothing.
			must(t, e.store.Put(ctx, "user/0001", -1, 2)) // now at version 2
			if code, _, _ := post(t, rw.URL+"/delete-key", url.Values{"key": {"user/0001"}, "version": {"1"}, "csrf": {token}}); code != http.StatusConflict {
				t.Errorf("delete at a stale version: %d, want 409", code)
			}
			code, loc, _ = post(t, rw.URL+"/delete-key", url.Values{"key": {"user/0001"}, "version": {"2"}, "csrf": {token}})
			if _, ok, _ := e.store.Get(ctx, "user/0001", nil); code != http.StatusSeeOther || loc != "keys" || ok {
				t.Errorf("delete: %d to %q, key still there: %v", code, loc, ok)
			}
			other, _ := e.store.Namespace(hostileNS)
			code, loc, _ = post(t, rw.URL+"/delete-key", url.Values{"ns": {hostileNS}, "key": {hostileKey + "/in-ns"}, "version": {"1"}, "csrf": {token}})
			if _, ok, _ := other.Get(ctx, hostileKey+"/in-ns", nil); code != http.StatusSeeOther || loc != "keys?ns="+url.QueryEscape(hostileNS) || ok {
				t.Errorf("delete in a namespace: %d to %q, key still there: %v", code, loc, ok)
			}
		})
	}
}

// TestLiveTail: the event stream sends each new entry that passes the
// filter, as JSON, with its seq as the event's id.
func TestLiveTail(t *testing.T) {
	ctx := context.Background()
	e := openSQLite(t)
	seed(t, e, 3)
	srv := httptest.NewServer(e.dashboard(t, false))
	defer srv.Close()
	last, err := e.stream.Seq(ctx)
	must(t, err)
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, srv.URL+"/events?ns=&after="+itoa(int(last)), nil)
	resp, err := client.Do(req)
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	other, _ := e.store.Namespace("elsewhere")
	must(t, other.Put(ctx, "skipped", -1, 1)) // another namespace: filtered out
	must(t, e.store.Put(ctx, hostileKey, -1, map[string]string{"v": hostileValue}))
	lines := bufio.NewReader(resp.Body)
	var id, data string
	for data == "" {
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the events: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
		}
	}
	var ev struct {
		Seq                                 int64
		Namespace, Key, Action, Value, Link string
		Version                             int64
	}
	must(t, json.Unmarshal([]byte(data), &ev))
	if ev.Key != hostileKey || ev.Namespace != "" || ev.Action != "update" || ev.Version != 2 || id != itoa(int(ev.Seq)) ||
		ev.Seq != last+2 || ev.Link != "key?key="+url.QueryEscape(hostileKey) || !strings.Contains(ev.Value, "pwned") {
		t.Fatalf("event id %s: %+v", id, ev)
	}
}

// TestMountedUnderPrefix: mounted with http.StripPrefix, the dashboard's
// links stay under the prefix, and the prefix alone redirects to it with
// a slash.
func TestMountedUnderPrefix(t *testing.T) {
	e := openSQLite(t)
	seed(t, e, 3)
	mux := http.NewServeMux()
	mux.Handle("/kv/", http.StripPrefix("/kv", e.dashboard(t, false)))
	mux.Handle("/kv", http.StripPrefix("/kv", e.dashboard(t, false)))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := client.Get(srv.URL + "/kv")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/kv/" {
		t.Fatalf("GET /kv: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := fetch(t, srv.URL+"/kv/")
	base, _ := url.Parse(srv.URL + "/kv/")
	for _, h := range hrefs(body) {
		u, err := base.Parse(h)
		must(t, err)
		if !strings.HasPrefix(u.Path, "/kv/") {
			t.Errorf("link %q leads out of the prefix, to %s", h, u.Path)
		}
		if code, _ := fetch(t, u.String()); code != 200 {
			t.Errorf("link %q: %d", h, code)
		}
	}
}

// TestLiveTailTrimmed: a tail whose position was trimmed away says so (a
// notice) and goes on from where the stream now starts.
func TestLiveTailTrimmed(t *testing.T) {
	ctx := context.Background()
	e := openSQLite(t)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		must(t, e.store.Put(ctx, k, -1, 1))
	}
	if _, err := e.stream.ForceTrim(ctx, 3); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.dashboard(t, false))
	defer srv.Close()
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, srv.URL+"/events?after=0", nil)
	resp, err := client.Do(req)
	must(t, err)
	defer resp.Body.Close()
	lines := bufio.NewReader(resp.Body)
	var got []string
	for len(got) < 3 {
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the events: %v (got %q)", err, got)
		}
		if strings.HasPrefix(line, "event: ") || strings.HasPrefix(line, "id: ") {
			got = append(got, strings.TrimSpace(line))
		}
		if strings.HasPrefix(line, "data: entries up to seq") {
			got[len(got)-1] += " " + strings.TrimSpace(line)
		}
	}
	want := []string{"event: notice data: entries up to seq 3 were trimmed away", "id: 4", "event: entry"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// TestTouchShown: a touch's stream entry is shown on the stream page and
// in the key's history as a touch, with no value.
func TestTouchShown(t *testing.T) {
	ctx := context.Background()
	e := openSQLite(t)
	must(t, e.store.Put(ctx, "touched", -1, map[string]int{"n": 1}, kvcore.WithTTL(time.Hour)))
	must(t, e.store.Touch(ctx, "touched", time.Minute))
	srv := httptest.NewServer(e.dashboard(t, false))
	defer srv.Close()
	row := regexp.MustCompile(`<td>touch</td><td class="num">1</td><td>[^<]*</td><td>[^<]*</td><td class="json"></td>`)
	for _, path := range []string{"stream", "key?key=touched"} {
		code, body := fetch(t, srv.URL+"/"+path)
		if code != 200 || !row.MatchString(body) {
			t.Errorf("GET /%s: %d, no touch row with version 1 and no value:\n%.2000s", path, code, body)
		}
	}
}
