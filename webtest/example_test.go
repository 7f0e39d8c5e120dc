package webtest_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
	"github.com/kvsuite/kv/kvtask"
	"github.com/kvsuite/kv/kvweb"
	"github.com/kvsuite/kv/kvweb/kvmetrics"
)

// Mount kv's dashboard under /kv/ of your own server, and register kv's
// Prometheus collectors beside your own metrics: the state of the database
// (stream, consumers, tasks, leases) read at each scrape, and the
// operations of this process's store and task runner as they happen.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "kvweb-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlitekv.Open(filepath.Join(dir, "data.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Init(ctx); err != nil {
		log.Fatal(err)
	}

	// Metrics of this process's operations come through the fronts'
	// observer hooks.
	ops := kvmetrics.NewStoreMetrics()
	attempts := kvmetrics.NewTaskMetrics()
	store, err := db.Store(kvcore.WithObserver(ops.Observe))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	stream, _ := kvstream.New(db)
	locker, _ := kvlock.New(db)
	tasks, _ := kvtask.New(db)
	graph, _ := kvgraph.New(store)
	runner := kvtask.NewRunner(tasks, "worker-1")
	runner.Observer = attempts.Observe // then runner.Run(ctx) as usual

	dashboard, err := kvweb.New(kvweb.Config{
		Store: store, Stream: stream, Locker: locker, Tasks: tasks, Graph: graph,
		Backend: "sqlite", Database: "data.db", // a name to show, never a password
	})
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(kvmetrics.NewCollector(kvmetrics.Sources{Stream: stream, Tasks: tasks, Locker: locker}), ops, attempts)

	mux := http.NewServeMux()
	mux.Handle("/kv/", http.StripPrefix("/kv", dashboard))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux) // or http.ListenAndServe("127.0.0.1:8080", mux)
	defer srv.Close()

	if err := store.Put(ctx, "user/ann", -1, map[string]string{"name": "Ann"}); err != nil {
		log.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/kv/keys")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("GET /kv/keys:", resp.Status)
	resp, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(line, "kv_stream_head_seq ") || strings.HasPrefix(line, `kv_store_operations_total{op="put"`) {
			fmt.Println(line)
		}
	}
	// Output:
	// GET /kv/keys: 200 OK
	// kv_store_operations_total{op="put",result="ok"} 1
	// kv_stream_head_seq 1
}
