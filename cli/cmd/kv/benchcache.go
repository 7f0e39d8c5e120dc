package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/kvsuite/kv/kvcache"
)

// cacheFlags are the flags of kv benchmark get that put a kvcache in front
// of the store.
type cacheFlags struct {
	on        bool
	fresh     bool
	staleness time.Duration
}

func (f *cacheFlags) define(fs *flag.FlagSet) {
	fs.BoolVar(&f.on, "cache", false, "get through a kvcache over the store, warmed with the records first (not measured); the report adds the cache's hits and its follower's lag")
	fs.BoolVar(&f.fresh, "cache-fresh", false, "with --cache: linearizable reads (a query of the stream's head per read) instead of bounded staleness")
	fs.DurationVar(&f.staleness, "cache-staleness", 0, "with --cache: the staleness bound (default 1s)")
}

// check refuses cache flags without --cache.
func (f *cacheFlags) check(path string) error {
	if !f.on && (f.fresh || f.staleness != 0) {
		return usagef(path, "%s: --cache-fresh and --cache-staleness need --cache", path)
	}
	if f.fresh && f.staleness != 0 {
		return usagef(path, "%s: --cache-fresh and --cache-staleness exclude each other", path)
	}
	if f.staleness < 0 {
		return usagef(path, "%s: --cache-staleness %v: want a positive duration", path, f.staleness)
	}
	return nil
}

// benchCacheJSON is the cache's part of a benchmark report.
type benchCacheJSON struct {
	Mode        string  `json:"mode"` // "bounded" or "fresh"
	StalenessMS float64 `json:"staleness_ms,omitempty"`
	Hits        int64   `json:"hits"`
	Misses      int64   `json:"misses"`
	Bypassed    int64   `json:"bypassed"`
	HitRate     float64 `json:"hit_rate"`
	LagMS       float64 `json:"lag_ms"` // since the follower last read to the stream's end
	Position    int64   `json:"position"`
}

// openCache returns a cache over the run's store, warmed with the count
// records under sub, and the counters before the measured gets.
func (b *benchRun) openCache(ctx context.Context, f cacheFlags, sub string, count int) (*kvcache.Cache, kvcache.Stats, error) {
	sd, err := b.be.Stream()
	if err != nil {
		return nil, kvcache.Stats{}, fmt.Errorf("benchmark %s --cache: %w", b.name, err)
	}
	opt := kvcache.Fresh()
	if !f.fresh {
		opt = kvcache.Bounded(cmpOr(f.staleness, kvcache.DefaultStaleness))
	}
	c, err := kvcache.New(b.st, sd, opt)
	if err != nil {
		return nil, kvcache.Stats{}, fmt.Errorf("benchmark %s --cache: %w", b.name, err)
	}
	err = c.Sync(ctx)
	for start := 0; err == nil && start < count; start += benchChunk {
		keys := make([]string, 0, benchChunk)
		for i := start; i < min(start+benchChunk, count); i++ {
			keys = append(keys, b.key(sub, i))
		}
		_, err = c.GetBatch(ctx, keys...)
	}
	if err != nil {
		c.Close()
		return nil, kvcache.Stats{}, fmt.Errorf("benchmark %s: warm the cache: %w", b.name, err)
	}
	return c, c.Stats(), nil
}

// cacheReport is what the cache did since before.
func cacheReport(c *kvcache.Cache, f cacheFlags, before kvcache.Stats) *benchCacheJSON {
	st := c.Stats()
	r := &benchCacheJSON{Mode: "fresh", Hits: st.Hits - before.Hits, Misses: st.Misses - before.Misses,
		Bypassed: st.Bypassed - before.Bypassed, LagMS: float64(st.Lag) / float64(time.Millisecond), Position: st.Position}
	if !f.fresh {
		r.Mode, r.StalenessMS = "bounded", float64(cmpOr(f.staleness, kvcache.DefaultStaleness))/float64(time.Millisecond)
	}
	if n := r.Hits + r.Misses + r.Bypassed; n > 0 {
		r.HitRate = float64(r.Hits) / float64(n)
	}
	return r
}

// writeCacheText writes a report's cache line.
func writeCacheText(sb *strings.Builder, r *benchCacheJSON) {
	mode := "fresh"
	if r.Mode == "bounded" {
		mode = fmt.Sprintf("bounded (%v)", time.Duration(r.StalenessMS*float64(time.Millisecond)))
	}
	fmt.Fprintf(sb, "  cache:      %s: hit rate %.4f (%d hits, %d misses, %d bypassed); follower at position %d, at the stream's end %v ago\n",
		mode, r.HitRate, r.Hits, r.Misses, r.Bypassed, r.Position, time.Duration(r.LagMS*float64(time.Millisecond)).Round(time.Millisecond))
}

func cmpOr(d, def time.Duration) time.Duration {
	if d != 0 {
		return d
	}
	return def
}
