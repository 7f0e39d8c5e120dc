package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"golang.org/x/sys/unix"

	"github.com/kvsuite/kv/kvcache"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	"github.com/kvsuite/kv/reliability"
	"github.com/kvsuite/kv/reliability/internal/reltest"
)

// The cache's promises, checked on every backend with writers in other
// processes: a fresh cache is linearizable (porcupine, RegisterModel, over
// the history of the cache's readers and writers and of the other
// processes' clients), a bounded cache never misses a change committed
// more than its bound before a read began, nor a write made through it
// (checkStaleness). The other processes also make keys expire at once
// with Touch (OpExpire), which the cache sees only through the stream's
// touch entries: a record is never served past the expiry they set.

// Shape of the cache workloads.
const (
	cacheKeys       = 8
	cachePrefix     = "cache/"
	cacheChildren   = 2 // writer processes
	cacheChildConns = 2 // clients per writer process
	cacheClients    = 4 // clients of the cache in the test process
)

// cacheExpirePercent is the share of the other processes' operations that
// make their key expire at once with Touch.
const cacheExpirePercent = 10

// cacheRunFor is how long the clients run.
var cacheRunFor = reltest.ShortOrLong(3*time.Second, 30*time.Second)

// sharedClock reads the system's monotonic clock, which every process on
// the machine shares, in nanoseconds: histories of several processes are
// timed on it.
func sharedClock() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err) // never on Linux
	}
	return ts.Nano()
}

// opLine is one recorded operation as a child prints it.
type opLine struct {
	Client int                `json:"client"`
	Call   int64              `json:"call"`
	Return int64              `json:"return"`
	In     reliability.Input  `json:"in"`
	Out    reliability.Output `json:"out"`
}

// cacheWorkload is the child mode "cache-workload": it runs the register
// workload's clients on its own store (envArg: the first client's id)
// until envUntil, timed on sharedClock, and prints each operation as an
// opLine.
func cacheWorkload() error {
	ctx := context.Background()
	b, err := childBackend(ctx)
	if err != nil {
		return err
	}
	defer b.close()
	first, err := strconv.Atoi(os.Getenv(envArg))
	if err != nil {
		return fmt.Errorf("%s: %w", envArg, err)
	}
	ms, err := strconv.ParseInt(os.Getenv(envUntil), 10, 64)
	if err != nil {
		return fmt.Errorf("%s: %w", envUntil, err)
	}
	var out lineWriter
	out.printf("ready")
	history, err := reliability.RunWorkload(ctx, b.store, reliability.Workload{Clients: cacheChildConns, Keys: cacheKeys,
		OpsPerClient: 1 << 30, KeyPrefix: cachePrefix, ReadPercent: 50, ExpirePercent: cacheExpirePercent, FirstClient: first,
		Until: time.UnixMilli(ms), Clock: sharedClock})
	for _, op := range history {
		line, jerr := json.Marshal(opLine{Client: op.ClientId, Call: op.Call, Return: op.Return,
			In: op.Input.(reliability.Input), Out: op.Output.(reliability.Output)})
		if jerr != nil {
			return jerr
		}
		out.printf("%s", line)
	}
	return err
}

// cacheRun is one run of the cache workload on one backend.
type cacheRun struct {
	b       *backend
	cache   *kvcache.Cache
	history []porcupine.Operation
}

// local reports whether client ran in this process, through the cache.
func (cacheRun) local(client int) bool { return client < cacheClients }

// runCacheWorkload starts the writer processes on kind at where, runs the
// cache's clients (reads mostly, some writes) through a cache with opts
// beside them (its stream driver wrapped by wrap, unless nil), and
// returns the merged history.
func runCacheWorkload(t *testing.T, kind, where string, wrap func(streamdriver.Stream) streamdriver.Stream, opts ...kvcache.Option) *cacheRun {
	t.Helper()
	ctx := context.Background()
	b, err := openBackend(ctx, kind, where)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.close)
	var sd streamdriver.Stream = b.db
	if wrap != nil {
		sd = wrap(sd)
	}
	c, err := kvcache.New(b.store, sd, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	until := time.Now().Add(cacheRunFor + 2*time.Second) // the children's start-up, then the run
	var children []*child
	stopChildren(t, &children)
	for i := range cacheChildren {
		first := cacheClients + i*cacheChildConns
		ch, err := startChild("cache-workload", fmt.Sprintf("writer-%d", i), envBackend+"="+kind, envWhere+"="+where,
			envArg+"="+strconv.Itoa(first), envUntil+"="+strconv.FormatInt(until.UnixMilli(), 10))
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, ch)
	}
	for _, ch := range children {
		if err := ch.waitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	history, err := reliability.RunWorkload(ctx, c, reliability.Workload{Clients: cacheClients, Keys: cacheKeys,
		OpsPerClient: 1 << 30, KeyPrefix: cachePrefix, ReadPercent: 85, Until: until, Clock: sharedClock})
	if err != nil {
		t.Fatal(err)
	}
	local := len(history)
	for _, ch := range children {
		if err := ch.wait(time.Minute); err != nil {
			t.Fatalf("child %s: %v; stderr: %s", ch.name, err, ch.stderrText())
		}
		for _, line := range ch.output() {
			var l opLine
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("child %s printed %q: %v", ch.name, line, err)
			}
			history = append(history, porcupine.Operation{ClientId: l.Client, Input: l.In, Call: l.Call, Output: l.Out, Return: l.Return})
		}
	}
	st := c.Stats()
	t.Logf("%d operations through the cache, %d by %d other processes; cache: %d hits, %d misses, %d bypassed (hit rate %.2f), %d invalidations, %d resets",
		local, len(history)-local, cacheChildren, st.Hits, st.Misses, st.Bypassed, st.HitRate(), st.Invalidations, st.Resets)
	if st.Hits == 0 {
		t.Fatal("no read was answered from memory: the run tested nothing of the cache")
	}
	if len(history) == local {
		t.Fatal("the other processes recorded no operation")
	}
	if st.Resets != 0 {
		t.Fatalf("the cache was dropped %d times: its follower saw a gap or a trimmed position in a stream that has neither", st.Resets)
	}
	expired := 0
	for _, op := range history {
		if op.Input.(reliability.Input).Kind == reliability.OpExpire && op.Output.(reliability.Output).Found {
			expired++
		}
	}
	if expired == 0 {
		t.Fatal("the other processes made no key expire: the run tested nothing of their touches")
	}
	t.Logf("%d keys made to expire at once by the other processes' touches", expired)
	return &cacheRun{b: b, cache: c, history: history}
}

// TestCacheLinearizable checks that a fresh cache is linearizable: the
// cache's clients (reads, blind writes and compare-and-set writes through
// it) and the register workload's clients in two other processes (on
// their own stores) run at once on a few keys, and porcupine checks the
// whole history against RegisterModel. It runs on every backend.
func TestCacheLinearizable(t *testing.T) {
	forEachBackend(t, "cachelin", func(t *testing.T, kind, where string) {
		run := runCacheWorkload(t, kind, where, nil, kvcache.Fresh())
		requireLinearizable(t, run.history)
		t.Logf("porcupine checked %d operations: linearizable", len(run.history))
	})
}

// TestCacheBoundedStaleness checks a bounded cache's promise: every read
// through it reflects every write made through the same cache that
// completed before the read began (read-your-writes), and every write of
// the other processes that completed more than the bound before it. It
// runs on every backend, with writers in two other processes. Every
// fourth stream read of the cache's follower is held back for twice the
// bound, so that the follower falls behind the bound again and again.
func TestCacheBoundedStaleness(t *testing.T) {
	const bound = 100 * time.Millisecond
	forEachBackend(t, "cachestale", func(t *testing.T, kind, where string) {
		stall := func(d streamdriver.Stream) streamdriver.Stream {
			return &stallingStream{Stream: d, every: 4, stall: 2 * bound}
		}
		run := runCacheWorkload(t, kind, where, stall, kvcache.Bounded(bound))
		versions := streamVersions(t, run.b.db)
		bad, checked := checkStaleness(run.history, versions, run.local, int64(bound))
		for i, v := range bad {
			if i == 10 {
				t.Errorf("... and %d more", len(bad)-10)
				break
			}
			t.Error(v)
		}
		if len(bad) > 0 {
			t.FailNow()
		}
		if run.cache.Stats().Bypassed == 0 {
			t.Fatal("no read went to the database: the follower never fell behind the bound")
		}
		t.Logf("%d reads through the cache checked against %d writes: none staler than %v", checked, len(versions), bound)
	})
}

// written is where the stream holds a write: the version it wrote and the
// seq of its entry.
type written struct{ version, seq int64 }

// streamVersions maps each value written under cachePrefix (every write
// of the workload stores its own) to its version and seq, read from the
// stream.
func streamVersions(t *testing.T, d streamdriver.Stream) map[string]written {
	t.Helper()
	s, err := kvstream.New(d)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]written{}
	for from := int64(0); ; {
		recs, err := s.Read(context.Background(), from, kvstream.MaxLimit, kvstream.InNamespace(""))
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return out
		}
		for _, r := range recs {
			if strings.HasPrefix(r.Key, cachePrefix) && (r.Action == kvstream.ActionCreate || r.Action == kvstream.ActionUpdate) {
				out[r.Key+"\x00"+string(r.Value)] = written{r.Version, r.Seq}
			}
		}
		from = recs[len(recs)-1].Seq + 1
	}
}

// checkStaleness checks the reads of local clients in history: each must
// reflect every change to its key that completed before the read began,
// for a change by a local client (read-your-writes through one cache), or
// more than bound before, for any other; and what it returns must have
// been written before the read returned, at the version the stream gives
// it (versions maps key+"\x00"+value to where the stream holds its write).
// A write is reflected if the read returns it or a later write (by stream
// seq; versions start again at 1 after an expiry). An expiry (OpExpire
// that found the key) is reflected if the read returns no value written
// before the expiry began: every such value was expired by it or
// overwritten. A read that finds the key missing reflects the latest write
// it must reflect only if an expiry may have come after that write. It
// returns the violations and the number of reads checked.
func checkStaleness(history []porcupine.Operation, versions map[string]written, local func(int) bool, bound int64) (bad []string, checked int) {
	type change struct {
		call, ret, seq int64 // seq: a write's entry (0 for an expiry)
		client         int
	}
	writes := map[string][]change{}             // by key
	expiries := map[string][]change{}           // by key
	byValue := map[string]porcupine.Operation{} // key+"\x00"+value -> the write
	for _, op := range history {
		in, out := op.Input.(reliability.Input), op.Output.(reliability.Output)
		switch {
		case in.Kind == reliability.OpExpire && out.Found:
			expiries[in.Key] = append(expiries[in.Key], change{op.Call, op.Return, 0, op.ClientId})
			continue
		case in.Kind == reliability.OpGet || in.Kind == reliability.OpExpire || out.Mismatch:
			continue
		}
		kv := in.Key + "\x00" + in.Value
		w, ok := versions[kv]
		if !ok {
			bad = append(bad, fmt.Sprintf("the write of %s by client %d is not in the stream", in.Value, op.ClientId))
			continue
		}
		writes[in.Key] = append(writes[in.Key], change{op.Call, op.Return, w.seq, op.ClientId})
		byValue[kv] = op
	}
	// due is when a change must be reflected: by a read that begins after it.
	due := func(c change) int64 {
		if local(c.client) {
			return c.ret
		}
		return c.ret + bound
	}
	for _, op := range history {
		in, out := op.Input.(reliability.Input), op.Output.(reliability.Output)
		if in.Kind != reliability.OpGet || !local(op.ClientId) {
			continue
		}
		checked++
		if out.Found {
			kv := in.Key + "\x00" + out.Value
			w, ok := byValue[kv]
			switch {
			case !ok:
				bad = append(bad, fmt.Sprintf("client %d read %s = %s, which no recorded write stored", op.ClientId, in.Key, out.Value))
				continue
			case w.Call > op.Return:
				bad = append(bad, fmt.Sprintf("client %d read %s = %s before its write began", op.ClientId, in.Key, out.Value))
			case versions[kv].version != out.Version:
				bad = append(bad, fmt.Sprintf("client %d read %s = %s at version %d, written at version %d", op.ClientId, in.Key, out.Value, out.Version, versions[kv].version))
			}
			for _, c := range writes[in.Key] {
				if due(c) < op.Call && c.seq > versions[kv].seq {
					bad = append(bad, fmt.Sprintf("client %d read %s = %s (call %d), missing a later write by client %d (returned %d, %v before the read)",
						op.ClientId, in.Key, out.Value, op.Call, c.client, c.ret, time.Duration(op.Call-c.ret)))
					break
				}
			}
			for _, x := range expiries[in.Key] {
				if due(x) < op.Call && x.call > w.Return {
					bad = append(bad, fmt.Sprintf("client %d read %s = %s (call %d), which client %d's touch made expire (returned %d, %v before the read)",
						op.ClientId, in.Key, out.Value, op.Call, x.client, x.ret, time.Duration(op.Call-x.ret)))
					break
				}
			}
			continue
		}
		var last *change // the latest write the read must reflect
		for i, c := range writes[in.Key] {
			if due(c) < op.Call && (last == nil || c.seq > last.seq) {
				last = &writes[in.Key][i]
			}
		}
		if last == nil {
			continue
		}
		expiredAfter := false
		for _, x := range expiries[in.Key] {
			expiredAfter = expiredAfter || (x.ret > last.call && x.call < op.Return)
		}
		if !expiredAfter {
			bad = append(bad, fmt.Sprintf("client %d read %s missing (call %d), though client %d wrote it (returned %d, %v before the read) and no touch may have made it expire since",
				op.ClientId, in.Key, op.Call, last.client, last.ret, time.Duration(op.Call-last.ret)))
		}
	}
	return bad, checked
}

// TestStalenessCheckerCatchesViolations feeds checkStaleness doctored
// histories and asserts it reports each violation, and no violation in
// the legal ones.
func TestStalenessCheckerCatchesViolations(t *testing.T) {
	const bound = 100
	local := func(c int) bool { return c < 10 }
	put := func(client int, call, ret int64, v string) porcupine.Operation {
		return op(client, call, ret, reliability.Input{Kind: reliability.OpPut, Key: "k", Value: v}, reliability.Output{})
	}
	read := func(client int, call, ret, version int64, v string) porcupine.Operation {
		out := reliability.Output{Found: version > 0, Version: version, Value: v}
		return op(client, call, ret, reliability.Input{Kind: reliability.OpGet, Key: "k"}, out)
	}
	expire := func(client int, call, ret int64) porcupine.Operation {
		return op(client, call, ret, reliability.Input{Kind: reliability.OpExpire, Key: "k"}, reliability.Output{Found: true})
	}
	// a and b are written in turn; c after an expiry, at version 1 again.
	versions := map[string]written{"k\x00a": {1, 1}, "k\x00b": {2, 2}, "k\x00c": {1, 4}}
	cases := []struct {
		name    string
		history []porcupine.Operation
		bad     bool
	}{
		{"a remote write within the bound may be missed", []porcupine.Operation{put(10, 0, 10, "a"), put(10, 20, 30, "b"), read(0, 100, 110, 1, "a")}, false},
		{"a remote write older than the bound must be seen", []porcupine.Operation{put(10, 0, 10, "a"), put(10, 20, 30, "b"), read(0, 140, 150, 1, "a")}, true},
		{"a remote write older than the bound, key missing", []porcupine.Operation{put(10, 0, 10, "a"), read(0, 140, 150, 0, "")}, true},
		{"a local write must be seen at once", []porcupine.Operation{put(1, 0, 10, "a"), put(2, 20, 30, "b"), read(0, 40, 50, 1, "a")}, true},
		{"a local write concurrent with the read may be missed", []porcupine.Operation{put(1, 0, 10, "a"), put(2, 20, 50, "b"), read(0, 40, 60, 1, "a")}, false},
		{"a value from the future", []porcupine.Operation{read(0, 0, 10, 2, "b"), put(10, 20, 30, "a"), put(10, 40, 50, "b")}, true},
		{"a value never written", []porcupine.Operation{put(10, 0, 10, "a"), read(0, 20, 30, 1, "z")}, true},
		{"a version that does not match the value", []porcupine.Operation{put(10, 0, 10, "a"), put(10, 20, 30, "b"), read(0, 40, 50, 1, "b")}, true},
		{"remote reads are not checked", []porcupine.Operation{put(10, 0, 10, "a"), put(10, 20, 30, "b"), read(11, 140, 150, 1, "a")}, false},
		{"a remote expiry within the bound may be missed", []porcupine.Operation{put(10, 0, 10, "a"), expire(11, 20, 30), read(0, 100, 110, 1, "a")}, false},
		{"a remote expiry older than the bound must be seen", []porcupine.Operation{put(10, 0, 10, "a"), expire(11, 20, 30), read(0, 140, 150, 1, "a")}, true},
		{"an expiry concurrent with the write may have come first", []porcupine.Operation{put(10, 0, 30, "a"), expire(11, 20, 40), read(0, 150, 160, 1, "a")}, false},
		{"missing after an expiry", []porcupine.Operation{put(10, 0, 10, "a"), expire(11, 20, 30), read(0, 140, 150, 0, "")}, false},
		{"missing, though written after the expiry", []porcupine.Operation{put(10, 0, 10, "a"), put(10, 12, 18, "b"), expire(11, 20, 30), put(10, 40, 50, "c"), read(0, 200, 210, 0, "")}, true},
		{"a version that starts again after an expiry", []porcupine.Operation{put(10, 0, 10, "a"), put(10, 12, 18, "b"), expire(11, 20, 30), put(10, 40, 50, "c"), read(0, 200, 210, 1, "c")}, false},
		{"an expired value", []porcupine.Operation{put(10, 0, 10, "a"), put(10, 12, 18, "b"), expire(11, 20, 30), put(10, 40, 50, "c"), read(0, 200, 210, 2, "b")}, true},
	}
	for _, c := range cases {
		bad, _ := checkStaleness(c.history, versions, local, bound)
		if got := len(bad) > 0; got != c.bad {
			t.Errorf("%s: violations %v, want some: %t", c.name, bad, c.bad)
		}
	}
}

// stallingStream is a backend's stream driver whose every nth read waits
// for stall first. It does not pass on the backend's notifications.
type stallingStream struct {
	streamdriver.Stream
	every int64
	stall time.Duration
	reads atomic.Int64
}

func (s *stallingStream) Read(ctx context.Context, q streamdriver.Query) ([]streamdriver.Record, int64, int64, error) {
	if s.reads.Add(1)%s.every == 0 {
		time.Sleep(s.stall)
	}
	return s.Stream.Read(ctx, q)
}

// pausedStream is a backend's stream driver whose reads can be held back,
// so that a test can make changes the follower has not read yet. It does
// not pass on the backend's notifications (the follower polls).
type pausedStream struct {
	streamdriver.Stream
	mu sync.RWMutex // held for writing while paused
}

func (p *pausedStream) Read(ctx context.Context, q streamdriver.Query) ([]streamdriver.Record, int64, int64, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.Stream.Read(ctx, q)
}

func (p *pausedStream) pause()  { p.mu.Lock() }
func (p *pausedStream) resume() { p.mu.Unlock() }

// TestCacheOnBackends checks, on every backend, what the workloads above
// do not: keys known to be absent, expiry by the store's clock, a stream
// trimmed past the follower, and the writes that drop many keys.
func TestCacheOnBackends(t *testing.T) {
	forEachBackend(t, "cachefn", func(t *testing.T, kind, where string) {
		ctx := context.Background()
		b, err := openBackend(ctx, kind, where)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.close)
		var now struct {
			sync.Mutex
			t time.Time
		}
		now.t = time.Now().UTC()
		clock := func() time.Time { now.Lock(); defer now.Unlock(); return now.t }
		store, err := b.db.Store(kvcore.WithClock(clock), kvcore.WithSweepInterval(0))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		ps := &pausedStream{Stream: b.db}
		c, err := kvcache.New(store, ps, kvcache.Bounded(time.Hour), kvcache.PollInterval(10*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		get := func(key string) string {
			t.Helper()
			r, ok, err := c.Get(ctx, key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return ""
			}
			return string(r.Value)
		}
		other := b.store // another writer: the test's other store on the same database

		// Absent keys are cached as absent, until another writer creates them.
		if get("fn/a") != "" || get("fn/a") != "" {
			t.Fatal("fn/a exists")
		}
		if st := c.Stats(); st.Hits != 1 {
			t.Fatalf("the second read of an absent key was not a hit: %+v", st)
		}
		if err := other.Put(ctx, "fn/a", -1, 1); err != nil {
			t.Fatal(err)
		}
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if got := get("fn/a"); got != "1" {
			t.Fatalf("fn/a = %q after another writer created it", got)
		}

		// Expiry by the store's clock: never served once expired.
		if err := c.Put(ctx, "fn/ttl", -1, 2, kvcore.WithTTL(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if get("fn/ttl") != "2" || get("fn/ttl") != "2" {
			t.Fatal("fn/ttl not readable")
		}
		now.Lock()
		now.t = now.t.Add(time.Minute)
		now.Unlock()
		if got := get("fn/ttl"); got != "" {
			t.Fatalf("fn/ttl = %q after its expiry", got)
		}

		// An expiry another writer shortened or set with Touch (its touch
		// entry drops the key): never served past it.
		toucher, err := b.db.Store(kvcore.WithClock(clock), kvcore.WithSweepInterval(0))
		if err != nil {
			t.Fatal(err)
		}
		defer toucher.Close()
		if err := c.Put(ctx, "fn/short", -1, 4, kvcore.WithTTL(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := c.Put(ctx, "fn/set", -1, 5); err != nil {
			t.Fatal(err)
		}
		if get("fn/short") != "4" || get("fn/short") != "4" || get("fn/set") != "5" || get("fn/set") != "5" {
			t.Fatal("fn/short or fn/set not readable")
		}
		for _, k := range []string{"fn/short", "fn/set"} {
			if err := toucher.Touch(ctx, k, time.Second); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if get("fn/short") != "4" || get("fn/set") != "5" {
			t.Fatal("a touched record is missing before its new expiry")
		}
		now.Lock()
		now.t = now.t.Add(time.Second)
		now.Unlock()
		for _, k := range []string{"fn/short", "fn/set"} {
			if got := get(k); got != "" {
				t.Fatalf("%s = %q after the expiry another writer's Touch set", k, got)
			}
		}

		// A change the follower has not read, then trimmed away: the cache
		// is dropped and starts again at the stream's head.
		if got := get("fn/a"); got != "1" {
			t.Fatalf("fn/a = %q", got)
		}
		ps.pause()
		if err := other.Put(ctx, "fn/a", -1, 3); err != nil {
			ps.resume()
			t.Fatal(err)
		}
		s, err := kvstream.New(b.db)
		if err == nil {
			var last int64
			if last, err = s.Seq(ctx); err == nil {
				_, err = s.ForceTrim(ctx, last)
			}
		}
		ps.resume()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if st := c.Stats(); st.Resets != 1 {
			t.Fatalf("%d resets after the stream was trimmed past the follower, want 1", st.Resets)
		}
		if got := get("fn/a"); got != "3" {
			t.Fatalf("fn/a = %q after the reset, want 3", got)
		}

		// Writes through the cache that drop keys it cannot name.
		for _, k := range []string{"fn/p/1", "fn/p/2", "fn/q"} {
			if err := c.Put(ctx, k, -1, 4); err != nil {
				t.Fatal(err)
			}
			get(k)
		}
		if _, err := c.DeletePrefix(ctx, "fn/p/", 0, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := c.MutateAll(ctx, kvcore.Delete("fn/q"), kvcore.Put("fn/a", -1, 5)); err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]string{"fn/p/1": "", "fn/p/2": "", "fn/q": "", "fn/a": "5"} {
			if got := get(k); got != want {
				t.Fatalf("%s = %q after the writes through the cache, want %q", k, got, want)
			}
		}
		if _, err := c.DeleteAll(ctx); err != nil {
			t.Fatal(err)
		}
		if got := get("fn/a"); got != "" {
			t.Fatalf("fn/a = %q after DeleteAll", got)
		}
		if st := c.Stats(); st.FollowErrors != 0 {
			t.Fatalf("the follower failed %d times: %v", st.FollowErrors, st.LastError)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
