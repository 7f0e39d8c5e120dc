package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/redact"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
	"github.com/kvsuite/kv/kvweb"
	"github.com/kvsuite/kv/kvweb/kvmetrics"
)

// minTokenLen is the shortest --token kv serve accepts.
const minTokenLen = 16

// serveJSON is what kv serve prints once it listens.
type serveJSON struct {
	URL     string `json:"url"`
	Metrics string `json:"metrics"`
	Writes  bool   `json:"writes"`
	Token   bool   `json:"token"`
}

func (a *app) serveCommand() *ffcli.Command {
	const path = "serve"
	var (
		addr        string
		allowWrites bool
		token       string
	)
	return a.command(spec{
		path:  path,
		reads: true,
		short: "Serve a web dashboard and Prometheus metrics.",
		long: `Serves the dashboard (overview, keys, stream with a live tail, tasks, graph)
at / and Prometheus metrics at /metrics until Ctrl+C or SIGTERM. Once it
listens it prints {"url":...,"metrics":...,"writes":...,"token":...}.

It listens on the loopback interface by default and then answers only to the
host names localhost, 127.0.0.1 and ::1. To listen on any other address it
needs --token (or KV_SERVE_TOKEN), of at least 16 characters, which every
request must then carry: open any page once with ?token=<token> (a cookie
keeps it), or send "Authorization: Bearer <token>" (Prometheus:
authorization.credentials). The connection string is shown with its password
replaced by xxxxx.

The pages only read, unless --allow-writes: then they can cancel, retry and
enqueue tasks and delete keys (each action a POST with the page's CSRF
token).`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&addr, "addr", "127.0.0.1:8080", "listen on this `host:port` (port 0: any free port)")
			fs.BoolVar(&allowWrites, "allow-writes", false, "let the pages cancel, retry and enqueue tasks and delete keys")
			fs.StringVar(&token, "token", "", "require this `secret` on every request (env KV_SERVE_TOKEN); needed off the loopback interface")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			if token == "" {
				token = os.Getenv("KV_SERVE_TOKEN")
			}
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return usagef(path, "--addr %q: want host:port, e.g. 127.0.0.1:8080", addr)
			}
			if token != "" && len(token) < minTokenLen {
				return usagef(path, "--token (or KV_SERVE_TOKEN) is %d characters: want at least %d", len(token), minTokenLen)
			}
			if token == "" && !isLoopback(host) {
				return usagef(path, "--addr %s is not on the loopback interface: listening there needs --token (or KV_SERVE_TOKEN)", addr)
			}
			store := kvmetrics.NewStoreMetrics()
			a.cfg.StoreOptions = append(a.cfg.StoreOptions, kvcore.WithObserver(store.Observe))
			return a.withBackend(ctx, func(b *open.Backend) error {
				if allowWrites && b.ReadOnly {
					return usagef(path, "--allow-writes: the connection is read-only")
				}
				h, reg, err := a.dashboard(b, allowWrites)
				if err != nil {
					return err
				}
				reg.MustRegister(store)
				mux := http.NewServeMux()
				mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
				mux.Handle("/", h)
				var root http.Handler = mux
				if token != "" {
					root = kvweb.RequireToken(token, mux)
				} else {
					root = kvweb.RequireHost([]string{"localhost", "127.0.0.1", "::1", host}, mux)
				}
				return a.listen(ctx, addr, root, serveJSON{Writes: allowWrites, Token: token != ""})
			})
		},
	})
}

// isLoopback reports whether host names the loopback interface: localhost
// or a loopback address ("" and 0.0.0.0 are every interface).
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dashboard returns the dashboard of b and a registry of its metrics.
func (a *app) dashboard(b *open.Backend, allowWrites bool) (http.Handler, *prometheus.Registry, error) {
	cfg := kvweb.Config{Store: b.Store, Backend: a.cfg.Type, Database: redact.Connection(a.cfg.Connection),
		AllowWrites: allowWrites, Logger: a.log}
	src := kvmetrics.Sources{}
	var err error
	// A backend without a part (leases, the stream, tasks) leaves it out.
	if cfg.Stream, err = streamOf(b, nil); err != nil && !errors.Is(err, open.ErrNotSupported) {
		return nil, nil, err
	}
	if cfg.Locker, err = lockerOf(b); err != nil && !errors.Is(err, open.ErrNotSupported) {
		return nil, nil, err
	}
	if cfg.Tasks, err = schedulerOf(b); err != nil && !errors.Is(err, open.ErrNotSupported) {
		return nil, nil, err
	}
	if cfg.Graph, err = kvgraph.New(b.Store); err != nil {
		return nil, nil, err
	}
	src.Stream, src.Locker, src.Tasks = cfg.Stream, cfg.Locker, cfg.Tasks
	h, err := kvweb.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(kvmetrics.NewCollector(src), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return h, reg, nil
}

// listen serves h on addr until ctx ends, printing where once it listens.
func (a *app) listen(ctx context.Context, addr string, h http.Handler, out serveJSON) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Requests end with ctx: the live tails stop at Ctrl+C.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	base := "http://" + ln.Addr().String() + "/"
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		// Every interface: this machine's own name reaches it.
		base = fmt.Sprintf("http://localhost:%d/", tcp.Port)
	}
	out.URL, out.Metrics = base, base+"metrics"
	if err := a.printJSON(out); err != nil {
		_ = ln.Close()
		return err
	}
	if err := a.flush(); err != nil {
		_ = ln.Close()
		return err
	}
	a.log.Info("kv serve: listening", "url", base, "writes", out.Writes, "token", out.Token)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutting down: %w", err)
	}
	return nil
}
