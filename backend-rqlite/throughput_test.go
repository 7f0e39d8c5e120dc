package rqlitekv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// Throughput beside a plain HTTP client. BenchmarkPutThroughput puts kv's
// Put (16 writers, through kvcore.Store) beside what the same real rqlited
// takes from a plain HTTP client sending one small INSERT OR REPLACE row per
// statement, several statements per request, from several writers at once;
// BenchmarkGetThroughput does the same for reads (4 readers). Each reports
// rows/s, and kv's sub-benchmark also its ratio to a plain baseline
// measured right after it in the same run (16 writers x 16 statements for
// puts, 4 readers x 1 statement for gets), so that the ratio holds on a
// loaded machine where absolute figures do not:
//
//	go test -run '^$' -bench 'Throughput' -benchtime 5000x -count 3
//
// They need a real rqlited (the stand-in's figures say nothing of rqlite).

// plainClient sends rqlite requests with nothing of kv: one JSON array of
// parameterised statements per request, as rqlite's HTTP API takes it.
type plainClient struct {
	url    string
	client *http.Client
}

func newPlainClient(url string) *plainClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &plainClient{url: strings.TrimSuffix(url, "/"), client: &http.Client{Timeout: time.Minute, Transport: tr}}
}

// post sends stmts to path and checks that rqlite applied every one.
func (c *plainClient) post(path string, stmts [][]any) error {
	body, err := json.Marshal(stmts)
	if err != nil {
		return err
	}
	resp, err := c.client.Post(c.url+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, out)
	}
	var res struct {
		Results []struct {
			Error  string  `json:"error"`
			Values [][]any `json:"values"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return err
	}
	if len(res.Results) != len(stmts) {
		return fmt.Errorf("%d results for %d statements", len(res.Results), len(stmts))
	}
	for _, r := range res.Results {
		if r.Error != "" {
			return fmt.Errorf("rqlite: %s", r.Error)
		}
	}
	return nil
}

// upserts writes rows with writers goroutines, each sending requests of
// per statements (one row each), and returns the rows per second.
func (c *plainClient) upserts(b *testing.B, rows, writers, per int) float64 {
	b.Helper()
	return runRows(b, rows, writers, per, func(first, n int) error {
		stmts := make([][]any, n)
		for i := range stmts {
			stmts[i] = []any{"INSERT OR REPLACE INTO raw_kv (k, v) VALUES (?, ?)", fmt.Sprintf("key/%d", (first+i)%1000), benchValue}
		}
		return c.post("/db/execute?transaction", stmts)
	})
}

// selects reads rows with readers goroutines, each sending requests of per
// statements (one row each) at the weak level, and returns the rows per
// second.
func (c *plainClient) selects(b *testing.B, rows, readers, per int) float64 {
	b.Helper()
	return runRows(b, rows, readers, per, func(first, n int) error {
		stmts := make([][]any, n)
		for i := range stmts {
			stmts[i] = []any{"SELECT v FROM raw_kv WHERE k = ?", fmt.Sprintf("key/%d", (first+i)%100)}
		}
		return c.post("/db/query?level=weak", stmts)
	})
}

// runRows does rows rows with workers goroutines, per rows a call of do
// (given the first row's number and how many), and returns the rows per
// second.
func runRows(b *testing.B, rows, workers, per int, do func(first, n int) error) float64 {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				first := int(next.Add(int64(per))) - per
				if first >= rows {
					return
				}
				if err := do(first, min(per, rows-first)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return float64(rows) / elapsed.Seconds()
}

// throughputStore opens an empty store on the real server with the plain
// table, or skips b without one.
func throughputStore(b *testing.B) (*kvcore.Store, *DB, *plainClient) {
	b.Helper()
	if serverKind == "rqlitetest" {
		b.Skip("needs a real rqlited (the stand-in's figures say nothing of rqlite): " + noRqlited)
	}
	s, db := benchStore(b)
	cfg, err := parseConnString(serverURL(b))
	if err != nil {
		b.Fatal(err)
	}
	u := url.URL{Scheme: cfg.scheme, Host: cfg.hosts[0]}
	if cfg.hasUser {
		u.User = url.UserPassword(cfg.user, cfg.password)
	}
	return s, db, newPlainClient(u.String())
}

// BenchmarkPutThroughput: kv's Put with 16 writers beside the plain
// client's upserts (writers x statements per request), in rows/s; kv's
// ratio to plain 16x16 (measured after it, same rows) is x-plain-16x16.
func BenchmarkPutThroughput(b *testing.B) {
	// 1 x 8 is the shape of kv's own requests with 16 writers: group
	// commit sends one request at a time, and while one is in flight about
	// half of the writers wait for the next.
	for _, v := range []struct{ writers, per int }{{16, 1}, {1, 8}, {1, 16}, {16, 16}, {4, 64}} {
		b.Run(fmt.Sprintf("plain/writers=%d/stmts=%d", v.writers, v.per), func(b *testing.B) {
			_, _, plain := throughputStore(b)
			b.ResetTimer()
			rate := plain.upserts(b, b.N, v.writers, v.per)
			b.StopTimer()
			b.ReportMetric(rate, "rows/s")
		})
	}
	b.Run("kv/writers=16", func(b *testing.B) {
		s, _, plain := throughputStore(b)
		ctx := context.Background()
		b.ResetTimer()
		rate := runRows(b, b.N, 16, 1, func(i, _ int) error {
			return s.Put(ctx, fmt.Sprintf("key/%d", i%1000), -1, json.RawMessage(benchValue))
		})
		b.StopTimer()
		base := plain.upserts(b, b.N, 16, 16)
		b.ReportMetric(rate, "rows/s")
		b.ReportMetric(base, "plain-16x16-rows/s")
		b.ReportMetric(rate/base, "x-plain-16x16")
	})
}

// BenchmarkGetThroughput: kv's Get with 4 readers beside the plain
// client's selects (readers x statements per request), in rows/s; kv's
// ratio to plain 4x1 (measured after it, same rows) is x-plain-4x1.
func BenchmarkGetThroughput(b *testing.B) {
	fill := func(b *testing.B, s *kvcore.Store, plain *plainClient) {
		b.Helper()
		ms := make([]kvcore.Mutation, 100)
		for i := range ms {
			ms[i] = kvcore.Put(fmt.Sprintf("key/%d", i), -1, json.RawMessage(benchValue))
		}
		if _, err := s.MutateAll(context.Background(), ms...); err != nil {
			b.Fatal(err)
		}
		plain.upserts(b, 100, 1, 100)
	}
	for _, v := range []struct{ readers, per int }{{4, 1}, {4, 16}} {
		b.Run(fmt.Sprintf("plain/readers=%d/stmts=%d", v.readers, v.per), func(b *testing.B) {
			s, _, plain := throughputStore(b)
			fill(b, s, plain)
			b.ResetTimer()
			rate := plain.selects(b, b.N, v.readers, v.per)
			b.StopTimer()
			b.ReportMetric(rate, "rows/s")
		})
	}
	b.Run("kv/readers=4", func(b *testing.B) {
		s, _, plain := throughputStore(b)
		fill(b, s, plain)
		ctx := context.Background()
		b.ResetTimer()
		rate := runRows(b, b.N, 4, 1, func(i, _ int) error {
			_, ok, err := s.Get(ctx, fmt.Sprintf("key/%d", i%100), nil)
			if err == nil && !ok {
				err = fmt.Errorf("key/%d missing", i%100)
			}
			return err
		})
		b.StopTimer()
		base := plain.selects(b, b.N, 4, 1)
		b.ReportMetric(rate, "rows/s")
		b.ReportMetric(base, "plain-4x1-rows/s")
		b.ReportMetric(rate/base, "x-plain-4x1")
	})
}
