package webtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kvsuite/kv/kvgraph"
	"github.com/kvsuite/kv/kvtask"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the README's screenshot of the dashboard (kvweb/dashboard.png)")

// The kv binary, built once for every test that runs kv serve.
var (
	kvOnce sync.Once
	kvBin  string
	kvErr  error
	kvDir  string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if kvDir != "" {
		_ = os.RemoveAll(kvDir)
	}
	os.Exit(code)
}

// kvBinary builds the kv command from ../cli/cmd/kv.
func kvBinary(t *testing.T) string {
	t.Helper()
	kvOnce.Do(func() {
		if kvDir, kvErr = os.MkdirTemp("", "kvweb-test-"); kvErr != nil {
			return
		}
		kvBin = filepath.Join(kvDir, "kv")
		cmd := exec.Command("go", "build", "-o", kvBin, ".")
		cmd.Dir = "../cli/cmd/kv"
		if out, err := cmd.CombinedOutput(); err != nil {
			kvErr = fmt.Errorf("go build ../cli/cmd/kv: %v\n%s", err, out)
		}
	})
	if kvErr != nil {
		t.Fatal(kvErr)
	}
	return kvBin
}

// server is a kv serve process.
type server struct {
	URL    string
	Writes bool
	Token  bool
}

// kvServe runs kv serve on e's database with the flags given until the
// test ends (then it interrupts it, as Ctrl+C does, and checks that it
// exits cleanly).
func kvServe(t *testing.T, e *env, flags ...string) server {
	t.Helper()
	args := append([]string{"serve", "--type", e.typ, "--connection", e.conn}, flags...)
	if !slices.Contains(flags, "--addr") {
		args = append(args, "--addr", "127.0.0.1:0")
	}
	cmd := exec.Command(kvBinary(t), args...)
	cmd.Dir = e.dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KV_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("kv serve %q did not start: %v\n%s", flags, err, stderr.String())
	}
	var s server
	must(t, json.Unmarshal([]byte(line), &s))
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("kv serve %q exited with %v\n%s", flags, err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("kv serve %q did not stop within 30s of SIGINT", flags)
		}
	})
	return s
}

// chromium returns the path of Chromium, or skips the test with the
// reason (KV_REQUIRE_BROWSER=1 makes its absence a failure, as in CI).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KV_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KV_REQUIRE_BROWSER") == "1" {
		t.Fatal("KV_REQUIRE_BROWSER=1 but no Chromium found on PATH (apt-get install chromium, or set KV_CHROMIUM)")
	}
	t.Skip("SKIP: no Chromium on PATH (apt-get install chromium, or set KV_CHROMIUM): the browser tests need a real browser")
	return ""
}

// browser starts a headless Chromium with a fresh profile and returns a
// tab's context, ended with the test. The flags keep it off the network
// (no background requests, no QUIC, no component or sync updates).
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 800),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium: %v", err)
	}
	// No page may open a dialog: one would be a hostile key's script
	// running.
	if err := chromedp.Listen(bctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			t.Errorf("a page opened a JavaScript dialog: %q", d.Message)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return bctx
}

// artifacts is the folder the screenshots go to: KV_TEST_ARTIFACTS, or a
// folder in the system's temporary directory.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KV_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "kv-browser-artifacts")
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	must(t, os.MkdirAll(dir, 0o755))
	return dir
}

// screenshot saves the tab's viewport as name.png among the artifacts.
func screenshot(t *testing.T, ctx context.Context, name string) []byte {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	must(t, err)
	path := filepath.Join(artifacts(t), name+".png")
	must(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot %s", path)
	return png
}

// do runs browser actions, failing the test with what was being done.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// follow clicks the link or button sel and waits for the page it leads
// to, which must answer want.
func follow(t *testing.T, ctx context.Context, sel string, want int) {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("clicking %s: %v", sel, err)
	}
	if int(resp.Status) != want {
		t.Fatalf("clicking %s led to %s: %d, want %d", sel, resp.URL, resp.Status, want)
	}
}

// open navigates to u, which must answer want.
func open(t *testing.T, ctx context.Context, u string, want int) {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(u))
	if err != nil {
		t.Fatalf("opening %s: %v", u, err)
	}
	if int(resp.Status) != want {
		t.Fatalf("opening %s: %d, want %d", u, resp.Status, want)
	}
}

// eval evaluates a JavaScript expression in the tab (awaiting a promise).
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// text returns the text of the element sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("reading %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// postFromPage sends a form from the page with fetch, as a script of the
// page would, and returns the answer's status.
func postFromPage(t *testing.T, ctx context.Context, action, body string) int {
	t.Helper()
	return eval[int](t, ctx, fmt.Sprintf(`fetch(%q, {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: %q, redirect: "manual"}).then(r => r.status)`, action, body))
}

// TestBrowser drives kv serve in Chromium on SQLite and PostgreSQL: every
// page, links followed, a thousand keys paged through by cursor, a put
// arriving in the live tail, a task cancelled and its status changing,
// writes refused by a read-only server and without the CSRF token, the
// graph drawn, and /metrics read with Prometheus's parser. It saves
// screenshots among the test's artifacts.
func TestBrowser(t *testing.T) {
	chromium(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			e := b.open(t)
			s := seed(t, e, 1000)
			rw := kvServe(t, e, "--allow-writes")
			ro := kvServe(t, e)
			if !rw.Writes || ro.Writes {
				t.Fatalf("servers: %+v %+v", rw, ro)
			}
			tab := browser(t)

			// The overview, then the keys, by following the links.
			open(t, tab, rw.URL, 200)
			if got := text(t, tab, "#backend"); got != b.name {
				t.Errorf("overview shows backend %q", got)
			}
			if got := text(t, tab, "#namespaces"); !strings.Contains(got, "(default)") || !strings.Contains(got, "1002") {
				t.Errorf("overview's namespaces: %q", got)
			}
			screenshot(t, tab, "overview")
			// A hostile key shows as text and runs nothing.
			open(t, tab, rw.URL+"key?key="+url.QueryEscape(hostileKey), 200)
			if got := text(t, tab, "#key"); got != hostileKey {
				t.Errorf("the hostile key's page shows %q", got)
			}
			if eval[bool](t, tab, `document.getElementById("pwned") !== null || document.scripts.length > 0`) {
				t.Error("the hostile value's markup made it into the page")
			}
			open(t, tab, rw.URL, 200)
			follow(t, tab, `nav a[href="keys"]`, 200)
			var keys []string
			for page := 0; ; page++ {
				keys = append(keys, eval[[]string](t, tab, `[...document.querySelectorAll("#records td.key a")].map(a => a.textContent)`)...)
				if page == 0 {
					screenshot(t, tab, "keys")
				}
				if !eval[bool](t, tab, `document.getElementById("next") !== null`) {
					break
				}
				if page > 30 {
					t.Fatal("more pages than 1002 keys fill")
				}
				follow(t, tab, "#next", 200)
				if loc, _ := chromedp.Run(tab, chromedp.Location()); !strings.Contains(loc, "after=") {
					t.Fatalf("the next page's address %q has no cursor", loc)
				}
			}
			want := []string{hostileKey, hostileLink}
			for i := range 1000 {
				want = append(want, fmt.Sprintf("user/%04d", i))
			}
			if !slices.Equal(keys, want) {
				t.Fatalf("paged through %d keys: want the 1002 in order, each once (first %q, last %q)", len(keys), keys[:3], keys[len(keys)-3:])
			}
			follow(t, tab, `#records a[href="key?key=user%2F0999"]`, 200)
			if got := text(t, tab, "#version"); got != "1" || !strings.Contains(text(t, tab, "#value"), `"n": 999`) {
				t.Errorf("record page: version %q, value %q", got, text(t, tab, "#value"))
			}
			screenshot(t, tab, "key")

			// The live tail: a put appears without a reload.
			follow(t, tab, `nav a[href="stream"]`, 200)
			do(t, tab, "waiting for the live tail", chromedp.Poll[chromedp.Void](`document.getElementById("live-state").textContent === "live"`, chromedp.WithPollingTimeout(30*time.Second)))
			liveKey := "live/" + b.name
			put := time.Now()
			must(t, e.store.Put(ctx, liveKey, -1, map[string]string{"hello": "browser"}))
			do(t, tab, "waiting for the put in the live tail", chromedp.Poll[chromedp.Void](
				fmt.Sprintf(`[...document.querySelectorAll("#tail td.key a")].some(a => a.textContent === %q)`, liveKey),
				chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(20*time.Millisecond)))
			// Logged, not asserted: timing is for benchmarks.
			t.Logf("the put appeared in the live tail %v after it was written", time.Since(put).Round(time.Millisecond))
			screenshot(t, tab, "stream")

			// Tasks: cancel the pending one from its page.
			follow(t, tab, `nav a[href="tasks"]`, 200)
			screenshot(t, tab, "tasks")
			follow(t, tab, fmt.Sprintf(`#tasks a[href="task?id=%s"]`, s.pending.ID), 200)
			if got := text(t, tab, "#task-status"); got != "pending" {
				t.Fatalf("task status %q before cancelling", got)
			}
			follow(t, tab, "#cancel", 200)
			if got := text(t, tab, "#task-status"); got != "cancelled" {
				t.Errorf("task status %q after cancelling", got)
			}
			if task, _, _ := e.tasks.Get(ctx, s.pending.ID); task.Status != kvtask.StatusCancelled {
				t.Errorf("the cancelled task is %s in the database", task.Status)
			}
			screenshot(t, tab, "task")

			// A POST without the page's CSRF token is refused.
			open(t, tab, rw.URL+"task?id="+s.running.ID, 200)
			if got := postFromPage(t, tab, "cancel-task", "id="+s.running.ID); got != 403 {
				t.Errorf("a cancel without the CSRF token: %d, want 403", got)
			}
			csrf := eval[string](t, tab, `document.querySelector('meta[name="kv-csrf"]').content`)
			// The read-only server offers no action and refuses one sent
			// with its page's token.
			open(t, tab, ro.URL+"task?id="+s.running.ID, 200)
			if eval[bool](t, tab, `document.getElementById("cancel") !== null`) {
				t.Error("the read-only server offers the cancel button")
			}
			roCSRF := eval[string](t, tab, `document.querySelector('meta[name="kv-csrf"]').content`)
			if got := postFromPage(t, tab, "cancel-task", "id="+s.running.ID+"&csrf="+roCSRF); got != 403 {
				t.Errorf("a cancel on the read-only server: %d, want 403", got)
			}
			if csrf == roCSRF {
				t.Error("two servers share a CSRF token")
			}
			if task, _, _ := e.tasks.Get(ctx, s.running.ID); task.Status != kvtask.StatusRunning || task.CancelRequested {
				t.Errorf("a refused cancel changed the task: %s, cancel requested %v", task.Status, task.CancelRequested)
			}

			// The graph: pick a node, see its neighbourhood drawn.
			open(t, tab, rw.URL+"graph", 200)
			follow(t, tab, `#nodes a[href="graph?id=alice&type=User"]`, 200)
			if _, err := exec.LookPath("dot"); err == nil {
				do(t, tab, "waiting for the picture", chromedp.Poll[chromedp.Void](`document.getElementById("picture").complete && document.getElementById("picture").naturalWidth > 0`, chromedp.WithPollingTimeout(30*time.Second)))
			} else if !strings.Contains(text(t, tab, "#mermaid"), "flowchart") {
				t.Error("without Graphviz the graph page shows no Mermaid text")
			}
			screenshot(t, tab, "graph")
			checkMetrics(t, e, rw.URL+"metrics")
		})
	}
}

// checkMetrics reads kv serve's /metrics with Prometheus's parser and
// checks the stream head and the tasks against the database.
func checkMetrics(t *testing.T, e *env, u string) {
	t.Helper()
	resp, err := http.Get(u)
	must(t, err)
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	m, err := p.TextToMetricFamilies(resp.Body)
	must(t, err)
	head, err := e.stream.Seq(context.Background())
	must(t, err)
	if got := value(m, "kv_stream_head_seq"); got != float64(head) {
		t.Errorf("kv_stream_head_seq = %v, want %d", got, head)
	}
	if got := value(m, "kv_tasks", "name", "email", "status", "cancelled"); got != 1 {
		t.Errorf(`kv_tasks{name="email",status="cancelled"} = %v, want 1`, got)
	}
	if got := value(m, "kv_store_operations_total", "op", "scan", "result", "ok"); got < 21 {
		t.Errorf(`kv_store_operations_total{op="scan",result="ok"} = %v: the key pages alone read at least 21`, got)
	}
	if m["go_goroutines"] == nil {
		t.Error("no Go runtime metrics")
	}
}

// TestBrowserToken: kv serve off the loopback interface needs its token:
// without it the browser gets 401 and a write is refused; a first visit
// with ?token= sets a cookie and every page then loads.
func TestBrowserToken(t *testing.T) {
	chromium(t)
	const token = "browser-test-token-0123456789"
	e := openSQLite(t)
	s := seed(t, e, 3)
	srv := kvServe(t, e, "--addr", "0.0.0.0:0", "--allow-writes", "--token", token)
	u, err := url.Parse(srv.URL)
	must(t, err)
	base := "http://127.0.0.1:" + u.Port() + "/"
	tab := browser(t)
	open(t, tab, base+"tasks", 401)
	if got := text(t, tab, "body"); !strings.Contains(got, "needs its token") || strings.Contains(got, token) {
		t.Errorf("401 page: %q", got)
	}
	if got := postFromPage(t, tab, "cancel-task", "id="+s.pending.ID); got != 401 {
		t.Errorf("a write without the token: %d, want 401", got)
	}
	open(t, tab, base+"tasks?token="+token, 200)
	if loc, _ := chromedp.Run(tab, chromedp.Location()); loc != base+"tasks" {
		t.Errorf("after the token visit the address is %q, want %q (the token removed)", loc, base+"tasks")
	}
	follow(t, tab, `nav a[href="keys"]`, 200)
	screenshot(t, tab, "keys-with-token")
	resp, err := http.Get(base + "metrics")
	must(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("/metrics without the token: %d", resp.StatusCode)
	}
	if task, _, _ := e.tasks.Get(context.Background(), s.pending.ID); task.Status != kvtask.StatusPending {
		t.Errorf("a refused write changed the task: %s", task.Status)
	}
}

// TestScreenshot takes the README's picture of the dashboard on a small,
// plain data set (with -update-screenshot it replaces kvweb/dashboard.png).
func TestScreenshot(t *testing.T) {
	chromium(t)
	ctx := context.Background()
	e := openSQLite(t)
	for i, name := range []string{"ann", "bob", "carol", "dave"} {
		must(t, e.store.Put(ctx, "user/"+name, -1, map[string]any{"name": name, "age": 30 + i}))
	}
	orders, _ := e.store.Namespace("orders")
	for i := range 12 {
		must(t, orders.Put(ctx, fmt.Sprintf("order/%03d", i), -1, map[string]any{"total": 10 * i}))
	}
	must(t, e.stream.SetPosition(ctx, "mailer", 9))
	must(t, e.stream.SetPosition(ctx, "search-index", 16))
	_, _, err := e.locker.Acquire(ctx, "report-writer", "worker-1", time.Hour)
	must(t, err)
	for _, name := range []string{"email", "email", "email", "report"} {
		_, _, err := e.tasks.Enqueue(ctx, kvtask.NewTask(name, nil))
		must(t, err)
	}
	claimed, err := e.tasks.Claim(ctx, "worker-1", time.Hour, 1)
	must(t, err)
	_ = claimed
	must(t, e.graph.AddEdge(ctx, kvgraph.NewEdge(kvgraph.NewNodeRef("ann", "User"), kvgraph.NewNodeRef("bob", "User"), "follows", nil)))
	srv := kvServe(t, e)
	tab := browser(t)
	do(t, tab, "sizing the window", chromedp.EmulateViewport(1100, 660))
	open(t, tab, srv.URL, 200)
	png := screenshot(t, tab, "dashboard")
	if *updateScreenshot {
		must(t, os.WriteFile("../kvweb/dashboard.png", png, 0o644))
	} else if _, err := os.Stat("../kvweb/dashboard.png"); errors.Is(err, os.ErrNotExist) {
		t.Error("kvweb/dashboard.png is missing: run go test -run TestScreenshot -update-screenshot")
	}
}
