package kvweb

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
	"github.com/kvsuite/kv/kvtask"
)

// Config says what the dashboard shows and what it may do.
type Config struct {
	// Store is the store whose namespaces the Keys page browses (a view of
	// any namespace of it). Required.
	Store *kvcore.Store
	// Stream, Locker, Tasks and Graph are optional: without one, its page
	// or section says it is not configured.
	Stream *kvstream.Stream
	Locker *kvlock.Locker
	Tasks  *kvtask.Scheduler
	Graph  *kvgraph.Graph
	// Backend names the backend on the Overview page ("sqlite", ...).
	Backend string
	// Database names the database on the Overview page. It is shown as
	// given: never pass a connection string with its password (kv serve
	// passes one with the password replaced).
	Database string
	// AllowWrites enables the pages' actions: cancelling, retrying and
	// enqueueing tasks, deleting keys. Without it each is refused (403).
	AllowWrites bool
	// KeyHistory is how many of the stream's newest entries of the
	// record's namespace a record's page searches for the record's changes
	// (default 1000).
	KeyHistory int
	// MaxLiveTails bounds the live stream tails (server-sent event streams)
	// open at once (default 64); one more is refused with 503.
	MaxLiveTails int
	// PollInterval is how often a live tail looks for new stream entries
	// (default 500ms).
	PollInterval time.Duration
	// Logger receives the errors of failed requests (default
	// slog.Default()).
	Logger *slog.Logger
}

// Handler serves the dashboard. Create it with New.
type Handler struct {
	cfg   Config
	mux   *http.ServeMux
	csrf  string
	cop   *http.CrossOriginProtection
	pages map[string]*pageTemplate
	tails chan struct{} // a slot per open live tail
}

// New returns the dashboard of what cfg holds.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: kvweb: Config.Store is nil", kvcore.ErrInvalidArgument)
	}
	if cfg.KeyHistory < 0 || cfg.MaxLiveTails < 0 || cfg.PollInterval < 0 {
		return nil, fmt.Errorf("%w: kvweb: KeyHistory, MaxLiveTails and PollInterval must not be negative", kvcore.ErrInvalidArgument)
	}
	if cfg.KeyHistory == 0 {
		cfg.KeyHistory = 1000
	}
	cfg.KeyHistory = min(cfg.KeyHistory, kvstream.MaxLimit)
	if cfg.MaxLiveTails == 0 {
		cfg.MaxLiveTails = 64
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("kvweb: CSRF token: %w", err)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h := &Handler{
		cfg:   cfg,
		mux:   http.NewServeMux(),
		csrf:  hex.EncodeToString(secret),
		cop:   http.NewCrossOriginProtection(),
		pages: pages,
		tails: make(chan struct{}, cfg.MaxLiveTails),
	}
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	h.mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no listings
			h.fail(w, r, errorf(http.StatusNotFound, "no page %q", r.URL.Path))
			return
		}
		files.ServeHTTP(w, r)
	})
	h.mux.HandleFunc("GET /{$}", h.page(h.overview))
	h.mux.HandleFunc("GET /keys", h.page(h.keys))
	h.mux.HandleFunc("GET /key", h.page(h.key))
	h.mux.HandleFunc("GET /stream", h.page(h.streamPage))
	h.mux.HandleFunc("GET /events", h.page(h.events))
	h.mux.HandleFunc("GET /tasks", h.page(h.tasks))
	h.mux.HandleFunc("GET /task", h.page(h.task))
	h.mux.HandleFunc("GET /graph", h.page(h.graph))
	h.mux.HandleFunc("GET /graph.svg", h.page(h.graphSVG))
	h.mux.HandleFunc("POST /delete-key", h.action(h.deleteKey))
	h.mux.HandleFunc("POST /cancel-task", h.action(h.cancelTask))
	h.mux.HandleFunc("POST /retry-task", h.action(h.retryTask))
	h.mux.HandleFunc("POST /enqueue-task", h.action(h.enqueueTask))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, errorf(http.StatusNotFound, "no page %q", r.URL.Path))
	})
	return h, nil
}

// ServeHTTP serves the dashboard's pages, its static files and its
// actions. Every response forbids framing and limits what a page may load
// to the dashboard itself.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.cfg.Logger.Error("kvweb: panic serving a request", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			h.fail(w, r, errorf(http.StatusInternalServerError, "internal error"))
		}
	}()
	if r.URL.Path == "" {
		// Mounted with http.StripPrefix and asked for the prefix itself:
		// the relative links need the trailing slash.
		http.Redirect(w, r, strings.TrimSuffix(requestPath(r), "/")+"/", http.StatusMovedPermanently)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// page wraps a GET handler: its error is answered with an error page.
func (h *Handler) page(serve func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := serve(w, r); err != nil {
			h.fail(w, r, err)
		}
	}
}

// action wraps a POST handler: the request must come from the dashboard's
// origin and carry its CSRF token, and writes must be allowed.
func (h *Handler) action(do func(w http.ResponseWriter, r *http.Request, f *form) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.cop.Check(r); err != nil {
			h.fail(w, r, errorf(http.StatusForbidden, "refused: %v", err))
			return
		}
		f, err := parseForm(w, r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !sameToken(f.csrf, h.csrf) {
			h.fail(w, r, errorf(http.StatusForbidden, "refused: the form's CSRF token is missing or wrong (reload the page and try again)"))
			return
		}
		if !h.cfg.AllowWrites {
			h.fail(w, r, errorf(http.StatusForbidden, "refused: this dashboard is read-only (kv serve --allow-writes enables actions)"))
			return
		}
		if err := do(w, r, f); err != nil {
			h.fail(w, r, err)
		}
	}
}

// seeOther redirects to target, a link relative to the action's page (so
// that it stays under any prefix the dashboard is mounted at; unlike
// http.Redirect, which would make it absolute).
func seeOther(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// httpError is an error with the HTTP status it answers.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// errorf returns an *httpError.
func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// badRequest is errorf with 400 Bad Request.
func badRequest(format string, args ...any) error {
	return errorf(http.StatusBadRequest, format, args...)
}

// statusOf is the status that answers err: its own for an *httpError,
// 400 for bad input the fronts refused, 404 for a missing key or task,
// else 500.
func statusOf(err error) int {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.Is(err, kvcore.ErrInvalidKey), errors.Is(err, kvcore.ErrInvalidArgument), errors.Is(err, kvcore.ErrInvalidValue),
		errors.Is(err, kvgraph.ErrTraversalLimit):
		return http.StatusBadRequest
	case errors.Is(err, kvcore.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, kvcore.ErrVersionMismatch), errors.Is(err, kvstream.ErrTrimmed):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// fail answers err with its status and an error page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status >= 500 {
		h.cfg.Logger.Error("kvweb: request failed", "path", r.URL.Path, "err", err)
	}
	h.render(w, r, status, "error", http.StatusText(status), errorData{Status: status, Message: err.Error()})
}

// errorData is what the error page shows.
type errorData struct {
	Status  int
	Message string
}
