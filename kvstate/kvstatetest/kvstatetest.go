// Package kvstatetest is kvstate's behaviour suite. kvstate imports no
// backend, so the suite runs from a module that does (kv's integration
// module runs it on SQLite, PostgreSQL and rqlite); a third-party backend
// can run it the same way:
//
//	func TestState(t *testing.T) {
//		kvstatetest.Run(t, func(t *testing.T) *kvcore.Store { ... })
//	}
//
// newStore must return an empty, initialised store that no other test
// uses (a fresh database, schema or namespace). The suite wraps its driver
// to watch the queries History makes.
//
// The counting machine (Counters, Increments, CheckIncrements) is exported
// so that a workload in other processes can be checked the same way.
package kvstatetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvstate"
)

// Run runs every kvstate test against stores from newStore.
func Run(t *testing.T, newStore func(t *testing.T) *kvcore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"NewEntity", testNewEntity},
		{"ProcessCommits", testProcessCommits},
		{"SeveralEventsOneCommit", testSeveralEvents},
		{"KeysSortInCommitOrder", testKeyOrder},
		{"HistoryPages", testHistoryPages},
		{"TransitionErrorChangesNothing", testTransitionError},
		{"TransitionRunsOnACopy", testCopy},
		{"UnregisteredEvents", testUnregistered},
		{"UnknownEventOnLoad", testUnknownOnLoad},
		{"UndecodableStateRefused", testUndecodableState},
		{"StaleEntityRetries", testStaleRetries},
		{"OutsideWriteToState", testOutsideWrite},
		{"ConflictWithoutRetries", testConflict},
		{"ConcurrentIncrements", testConcurrent},
		{"ConcurrentMachines", testConcurrentMachines},
		{"OneEntityPerID", testOneEntityPerID},
		{"EntitiesDoNotCollide", testNoCollision},
		{"InvalidIDs", testInvalidIDs},
		{"CorruptRecords", testCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newHarness(t, newStore))
		})
	}
}

// harness is one test's store, with its driver's queries recorded.
type harness struct {
	store   *kvcore.Store
	mu      sync.Mutex
	queries []driver.Selector // the driver's queries, in order
	rows    []int             // how many records each returned
}

// recorder records the driver's queries.
type recorder struct {
	driver.Store
	h *harness
}

func (r recorder) Query(ctx context.Context, sel driver.Selector, now time.Time) ([]driver.Record, error) {
	rows, err := r.Store.Query(ctx, sel, now)
	r.h.mu.Lock()
	r.h.queries = append(r.h.queries, sel)
	r.h.rows = append(r.h.rows, len(rows))
	r.h.mu.Unlock()
	return rows, err
}

func newHarness(t *testing.T, newStore func(t *testing.T) *kvcore.Store) *harness {
	t.Helper()
	base := newStore(t)
	h := &harness{}
	s, err := kvcore.New(recorder{base.Driver(), h}, kvcore.WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if h.store, err = s.Namespace(base.NamespaceName()); err != nil {
		t.Fatal(err)
	}
	return h
}

// resetQueries forgets the queries recorded so far.
func (h *harness) resetQueries() {
	h.mu.Lock()
	h.queries, h.rows = nil, nil
	h.mu.Unlock()
}

var ctx = context.Background()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (h *harness) counters(t *testing.T, opts ...kvstate.Option) *kvstate.Machine[Counter] {
	t.Helper()
	m, err := Counters(h.store, nil, opts...)
	must(t, err)
	return m
}

func load[S any](t *testing.T, m *kvstate.Machine[S], id string) *kvstate.Entity[S] {
	t.Helper()
	e, err := m.Load(ctx, id)
	must(t, err)
	return e
}

// records returns every record kvstate stored, in key order.
func (h *harness) records(t *testing.T) []kvcore.Record {
	t.Helper()
	recs, err := h.store.GetPrefix(ctx, "kvstate/", 0, 0)
	must(t, err)
	return recs
}

// recordsText is records as "key type value" lines, for comparisons.
func (h *harness) recordsText(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, r := range h.records(t) {
		fmt.Fprintf(&b, "%s v%d %s %s\n", r.Key, r.Version, r.Type, r.Value)
	}
	return b.String()
}

// history collects the entity id's events.
func history[S any](t *testing.T, m *kvstate.Machine[S], id string, opts ...kvstate.HistoryOption) []kvstate.Entry {
	t.Helper()
	var out []kvstate.Entry
	for ev, err := range m.History(ctx, id, opts...) {
		must(t, err)
		out = append(out, ev)
	}
	return out
}

func testNewEntity(t *testing.T, h *harness) {
	e := load(t, h.counters(t), "fresh")
	if e.State() != (Counter{}) || e.Version() != 0 || e.Seq() != 0 || e.ID() != "fresh" {
		t.Fatalf("new entity: state %+v, version %d, seq %d, id %q", e.State(), e.Version(), e.Seq(), e.ID())
	}
	if out, err := e.Process(ctx); err != nil || out != nil {
		t.Fatalf("Process with no events: %v, %v", out, err)
	}
	if recs := h.records(t); len(recs) != 0 {
		t.Fatalf("loading a new entity wrote %d records", len(recs))
	}
	if evs := history(t, h.counters(t), "fresh"); len(evs) != 0 {
		t.Fatalf("a new entity has history %+v", evs)
	}
}

func testProcessCommits(t *testing.T, h *harness) {
	m := h.counters(t)
	e := load(t, m, "c1")
	out, err := e.Process(ctx, Increment{By: 2})
	must(t, err)
	want := []kvstate.Entry{{Key: "kvstate/Counter/c1/events/0000000000000000002/out", Seq: 2, Outbound: true, Name: "Incremented", Value: Incremented{N: 2}}}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatalf("Process returned %+v, want %+v", out, want)
	}
	if e.State().N != 2 || e.Version() != 1 || e.Seq() != 2 {
		t.Fatalf("after one commit: state %+v, version %d, seq %d", e.State(), e.Version(), e.Seq())
	}
	_, err = e.Process(ctx, Increment{By: 3})
	must(t, err)
	// What is stored, key by key.
	wantRecs := `kvstate/Counter/c1/events/0000000000000000001/in v1 Increment {"by":2}
kvstate/Counter/c1/events/0000000000000000002/out v1 Incremented {"n":2}
kvstate/Counter/c1/events/0000000000000000003/in v1 Increment {"by":3}
kvstate/Counter/c1/events/0000000000000000004/out v1 Incremented {"n":5}
kvstate/Counter/c1/state v2 Counter {"seq":4,"state":{"n":5}}
`
	if got := h.recordsText(t); got != wantRecs {
		t.Fatalf("stored:\n%s\nwant:\n%s", got, wantRecs)
	}
	// Another machine value on the same store loads the same entity.
	again := load(t, h.counters(t), "c1")
	if again.State().N != 5 || again.Version() != 2 || again.Seq() != 4 {
		t.Fatalf("loaded again: state %+v, version %d, seq %d", again.State(), again.Version(), again.Seq())
	}
	evs := history(t, m, "c1")
	wantHist := []kvstate.Entry{
		{Key: "kvstate/Counter/c1/events/0000000000000000001/in", Seq: 1, Name: "Increment", Value: Increment{By: 2}},
		{Key: "kvstate/Counter/c1/events/0000000000000000002/out", Seq: 2, Outbound: true, Name: "Incremented", Value: Incremented{N: 2}},
		{Key: "kvstate/Counter/c1/events/0000000000000000003/in", Seq: 3, Name: "Increment", Value: Increment{By: 3}},
		{Key: "kvstate/Counter/c1/events/0000000000000000004/out", Seq: 4, Outbound: true, Name: "Incremented", Value: Incremented{N: 5}},
	}
	if fmt.Sprint(evs) != fmt.Sprint(wantHist) {
		t.Fatalf("history %+v, want %+v", evs, wantHist)
	}
	if evs := history(t, m, "c1", kvstate.After(2)); len(evs) != 2 || evs[0].Seq != 3 {
		t.Fatalf("history after 2: %+v", evs)
	}
	// The record types let a reader find a machine's events by type.
	n, err := h.store.CountType(ctx, "Incremented")
	must(t, err)
	if n != 2 {
		t.Fatalf("%d records of type Incremented, want 2", n)
	}
	// The entity reloads what another writer committed.
	_, err = again.Process(ctx, Increment{By: 1})
	must(t, err)
	must(t, e.Reload(ctx))
	if e.State().N != 6 || e.Version() != 3 || e.Seq() != 6 {
		t.Fatalf("reloaded: state %+v, version %d, seq %d", e.State(), e.Version(), e.Seq())
	}
}

func testSeveralEvents(t *testing.T, h *harness) {
	m := h.counters(t)
	e := load(t, m, "multi")
	out, err := e.Process(ctx, Increment{By: 1}, Increment{By: 10}, Increment{By: 100})
	must(t, err)
	if len(out) != 3 || out[0].Seq != 2 || out[1].Seq != 4 || out[2].Seq != 6 || out[2].Value != (Incremented{N: 111}) {
		t.Fatalf("Process returned %+v", out)
	}
	if e.Version() != 1 || e.Seq() != 6 || e.State().N != 111 {
		t.Fatalf("one commit of three events: version %d, seq %d, state %+v", e.Version(), e.Seq(), e.State())
	}
	var got []string
	for _, ev := range history(t, m, "multi") {
		got = append(got, fmt.Sprintf("%d:%s:%v", ev.Seq, ev.Name, ev.Value))
	}
	want := "[1:Increment:{1} 2:Incremented:{1} 3:Increment:{10} 4:Incremented:{11} 5:Increment:{100} 6:Incremented:{111}]"
	if fmt.Sprint(got) != want {
		t.Fatalf("history %v, want %s", got, want)
	}
}

func testKeyOrder(t *testing.T, h *harness) {
	m := h.counters(t)
	e := load(t, m, "order")
	for range 60 { // 120 events: numbers of 1, 2 and 3 digits
		_, err := e.Process(ctx, Increment{By: 1})
		must(t, err)
	}
	recs, err := h.store.GetPrefix(ctx, "kvstate/Counter/order/events/", 0, 0)
	must(t, err)
	if len(recs) != 120 {
		t.Fatalf("%d event records, want 120", len(recs))
	}
	for i, r := range recs { // key order is number order
		ref, ok := kvstate.ParseEventKey(r.Key)
		if !ok || ref.Seq != int64(i+1) || ref.Kind != "Counter" || ref.ID != "order" || ref.Outbound != (i%2 == 1) {
			t.Fatalf("record %d in key order is %s (%+v, %t)", i, r.Key, ref, ok)
		}
		if len(r.Key) != len(recs[0].Key)+i%2 { // fixed width: "/out" is one byte longer than "/in"
			t.Fatalf("key %s is not as wide as %s", r.Key, recs[0].Key)
		}
	}
}

func testHistoryPages(t *testing.T, h *harness) {
	m := h.counters(t)
	e := load(t, m, "long")
	const n = 150 // 300 events in one commit
	incs := make([]any, n)
	for i := range incs {
		incs[i] = Increment{By: 1}
	}
	_, err := e.Process(ctx, incs...)
	must(t, err)
	// Other entities' events before and after this one's are not read.
	for _, id := range []string{"lone", "longer"} {
		_, err := load(t, m, id).Process(ctx, Increment{By: 1})
		must(t, err)
	}
	h.resetQueries()
	const page = 7
	var seen int64
	for ev, err := range m.History(ctx, "long", kvstate.PageSize(page)) {
		must(t, err)
		seen++
		if ev.Seq != seen {
			t.Fatalf("event %d after %d", ev.Seq, seen-1)
		}
	}
	if seen != 2*n {
		t.Fatalf("history of %d events, want %d", seen, 2*n)
	}
	h.mu.Lock()
	queries, rows := h.queries, h.rows
	h.mu.Unlock()
	// Pages of at most 7 records, each starting after the last key read:
	// memory and the cost of a page stay flat however long the history.
	if want := 2*n/page + 1; len(queries) != want {
		t.Fatalf("%d queries for %d events in pages of %d, want %d", len(queries), 2*n, page, want)
	}
	for i, q := range queries {
		if q.Limit != page || rows[i] > page || q.Offset != 0 || (i > 0 && !q.HasAfter) {
			t.Fatalf("query %d: %+v returned %d rows", i, q, rows[i])
		}
	}
	// Resuming after a position reads only what follows it.
	if evs := history(t, m, "long", kvstate.After(2*n-3)); len(evs) != 3 || evs[0].Seq != 2*n-2 {
		t.Fatalf("history after %d: %+v", 2*n-3, evs)
	}
	if evs := history(t, m, "long", kvstate.After(2*n)); len(evs) != 0 {
		t.Fatalf("history after the last event: %+v", evs)
	}
	for _, bad := range []kvstate.HistoryOption{kvstate.After(-1), kvstate.PageSize(0)} {
		for _, err := range m.History(ctx, "long", bad) {
			if !errors.Is(err, kvstate.ErrInvalidArgument) {
				t.Fatalf("bad history option: %v", err)
			}
		}
	}
}

func testTransitionError(t *testing.T, h *harness) {
	m := h.counters(t)
	e := load(t, m, "t")
	_, err := e.Process(ctx, Increment{By: 1}, Increment{By: 0})
	if !errors.Is(err, ErrNotPositive) || !strings.Contains(err.Error(), `"t"`) {
		t.Fatalf("rejected event: %v, want the transition's error, naming the entity", err)
	}
	if recs := h.records(t); len(recs) != 0 {
		t.Fatalf("a rejected event wrote %d records", len(recs))
	}
	if e.State().N != 0 || e.Version() != 0 || e.Seq() != 0 {
		t.Fatalf("after a rejected event: state %+v, version %d, seq %d", e.State(), e.Version(), e.Seq())
	}
	_, err = e.Process(ctx, Increment{By: 4})
	must(t, err)
	before := h.recordsText(t)
	_, err = e.Process(ctx, Increment{By: 5}, Increment{By: -5})
	if !errors.Is(err, ErrNotPositive) {
		t.Fatalf("rejected event: %v", err)
	}
	if after := h.recordsText(t); after != before {
		t.Fatalf("a rejected event changed the store:\n%s\nwas:\n%s", after, before)
	}
	if e.State().N != 4 || e.Version() != 1 || e.Seq() != 2 {
		t.Fatalf("after a rejected event: state %+v, version %d, seq %d", e.State(), e.Version(), e.Seq())
	}
}

// Tally is a state with a map, which a shallow copy would share.
type Tally struct {
	Counts map[string]int `json:"counts"`
}

// Vote is Tally's event; a Vote for "" is counted, then rejected.
type Vote struct {
	For string `json:"for"`
}

var errEmptyVote = errors.New("empty vote")

func tallies(t *testing.T, h *harness) *kvstate.Machine[Tally] {
	t.Helper()
	m, err := kvstate.NewMachine(h.store, func(s *Tally, event any) ([]any, error) {
		v := event.(Vote)
		if s.Counts == nil {
			s.Counts = map[string]int{}
		}
		s.Counts[v.For]++ // changes the copy before deciding
		if v.For == "" {
			return nil, errEmptyVote
		}
		return nil, nil
	}, kvstate.Events(kvstate.Event[Vote]()))
	must(t, err)
	return m
}

func testCopy(t *testing.T, h *harness) {
	m := tallies(t, h)
	e := load(t, m, "poll")
	_, err := e.Process(ctx, Vote{For: "a"}, Vote{For: "b"}, Vote{For: "a"})
	must(t, err)
	if _, err := e.Process(ctx, Vote{For: "a"}, Vote{For: ""}); !errors.Is(err, errEmptyVote) {
		t.Fatalf("rejected vote: %v", err)
	}
	if got := fmt.Sprint(e.State().Counts); got != "map[a:2 b:1]" {
		t.Fatalf("a rejected transition's changes to a map leaked into the state: %s", got)
	}
	s := e.State()
	s.Counts["a"] = 100 // the caller's copy
	if got := fmt.Sprint(e.State().Counts); got != "map[a:2 b:1]" {
		t.Fatalf("changing State's result changed the entity: %s", got)
	}
	_, err = e.Process(ctx, Vote{For: "b"})
	must(t, err)
	if got := fmt.Sprint(load(t, m, "poll").State().Counts); got != "map[a:2 b:2]" {
		t.Fatalf("stored tally %s, want map[a:2 b:2]", got)
	}
}

// Stray is an event type the counting machine does not register.
type Stray struct{}

func testUnregistered(t *testing.T, h *harness) {
	e := load(t, h.counters(t), "u")
	for _, ev := range []any{Stray{}, &Increment{By: 1}, nil, json.RawMessage(`{}`)} {
		_, err := e.Process(ctx, Increment{By: 1}, ev)
		if !errors.Is(err, kvstate.ErrUnknownEvent) {
			t.Fatalf("Process(%#v): %v, want ErrUnknownEvent", ev, err)
		}
	}
	if _, err := e.Process(ctx, &Increment{By: 1}); err == nil || !strings.Contains(err.Error(), "pass events as values") {
		t.Fatalf("a pointer to a registered event: %v", err)
	}
	// A transition that returns an event the machine does not know.
	m, err := kvstate.NewMachine(h.store, func(c *Counter, event any) ([]any, error) {
		c.N++
		return []any{Incremented{N: c.N}, Stray{}}, nil
	}, CounterEvents)
	must(t, err)
	_, err = load(t, m, "u").Process(ctx, Increment{By: 1})
	if !errors.Is(err, kvstate.ErrUnknownEvent) || !strings.Contains(err.Error(), "kvstatetest.Stray") {
		t.Fatalf("unregistered outbound event: %v", err)
	}
	if recs := h.records(t); len(recs) != 0 {
		t.Fatalf("unregistered events wrote %d records", len(recs))
	}
}

// Reset is an event only the wider machine of testUnknownOnLoad knows.
type Reset struct{}

func testUnknownOnLoad(t *testing.T, h *harness) {
	wide, err := kvstate.NewMachine(h.store, func(c *Counter, event any) ([]any, error) {
		if _, ok := event.(Reset); ok {
			c.N = 0
			return nil, nil
		}
		return CountTransition(c, event)
	}, CounterEvents, kvstate.Events(kvstate.EventAs[Reset]("counter.reset", nil)))
	must(t, err)
	e := load(t, wide, "k")
	_, err = e.Process(ctx, Increment{By: 3}, Reset{}, Increment{By: 1})
	must(t, err)
	narrow := h.counters(t)
	n := load(t, narrow, "k") // the state needs no event types
	if n.State().N != 1 || n.Seq() != 5 {
		t.Fatalf("narrow machine loaded %+v, seq %d", n.State(), n.Seq())
	}
	var seen []int64
	var last error
	for ev, err := range narrow.History(ctx, "k") {
		if err != nil {
			last = err
			continue
		}
		seen = append(seen, ev.Seq)
	}
	if fmt.Sprint(seen) != "[1 2]" || !errors.Is(last, kvstate.ErrUnknownEvent) || !strings.Contains(last.Error(), `"counter.reset"`) ||
		!strings.Contains(last.Error(), "event 3") {
		t.Fatalf("history with an unknown event: read %v, then %v", seen, last)
	}
	if _, err := narrow.DecodeEvent("counter.reset", json.RawMessage(`{}`)); !errors.Is(err, kvstate.ErrUnknownEvent) {
		t.Fatalf("DecodeEvent of an unknown name: %v", err)
	}
	if v, err := wide.DecodeEvent("counter.reset", json.RawMessage(`{}`)); err != nil || v != (Reset{}) {
		t.Fatalf("DecodeEvent: %v, %v", v, err)
	}
}

// Shape is an interface, which encoding/json can write but not read back.
type Shape interface{ Area() float64 }

// Square is a Shape.
type Square struct{ Side float64 }

// Area is the square's area.
func (s Square) Area() float64 { return s.Side * s.Side }

// Drawing holds a Shape.
type Drawing struct {
	Shape Shape `json:"shape"`
}

// Draw is Drawing's event.
type Draw struct{ Side float64 }

func testUndecodableState(t *testing.T, h *harness) {
	m, err := kvstate.NewMachine(h.store, func(d *Drawing, event any) ([]any, error) {
		d.Shape = Square{Side: event.(Draw).Side}
		return nil, nil
	}, kvstate.Events(kvstate.Event[Draw]()))
	must(t, err)
	e := load(t, m, "d")
	_, err = e.Process(ctx, Draw{Side: 2})
	if err == nil || !strings.Contains(err.Error(), "does not decode") {
		t.Fatalf("a state that cannot be loaded again was committed (err %v)", err)
	}
	if recs := h.records(t); len(recs) != 0 {
		t.Fatalf("an undecodable state wrote %d records", len(recs))
	}
}

func testStaleRetries(t *testing.T, h *harness) {
	var calls atomic.Int64
	m, err := Counters(h.store, &calls)
	must(t, err)
	// Two machines: as two processes, each with its own entity.
	first, second := load(t, h.counters(t), "s"), load(t, m, "s")
	_, err = first.Process(ctx, Increment{By: 1})
	must(t, err)
	out, err := second.Process(ctx, Increment{By: 10})
	must(t, err)
	if calls.Load() != 2 {
		t.Fatalf("the stale entity ran its transition %d times, want 2 (once on its stale state, once after reloading)", calls.Load())
	}
	if second.State().N != 11 || second.Version() != 2 || second.Seq() != 4 || out[0].Seq != 4 || out[0].Value != (Incremented{N: 11}) {
		t.Fatalf("after a retry: state %+v, version %d, seq %d, out %+v", second.State(), second.Version(), second.Seq(), out)
	}
	CheckHistoryNumbers(t, m, "s", 4)
}

// testOutsideWrite: a write to the state record that did not come through
// kvstate (a repair, say) moves its version, and an entity that loaded the
// state before it reloads and runs on the new state instead of writing
// over it.
func testOutsideWrite(t *testing.T, h *harness) {
	e := load(t, h.counters(t), "w")
	_, err := e.Process(ctx, Increment{By: 1})
	must(t, err)
	must(t, h.store.Put(ctx, "kvstate/Counter/w/state", -1, json.RawMessage(`{"seq":2,"state":{"n":100}}`), kvcore.WithType("Counter")))
	_, err = e.Process(ctx, Increment{By: 1})
	must(t, err)
	if e.State().N != 101 || e.Version() != 3 || e.Seq() != 4 {
		t.Fatalf("after an outside write: state %+v, version %d, seq %d; want 101 at version 3", e.State(), e.Version(), e.Seq())
	}
}

// CheckHistoryNumbers checks that entity id of m has events 1 to n.
func CheckHistoryNumbers[S any](t testing.TB, m *kvstate.Machine[S], id string, n int64) {
	t.Helper()
	var want int64 = 1
	for ev, err := range m.History(ctx, id) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Seq != want {
			t.Fatalf("event %d follows %d", ev.Seq, want-1)
		}
		want++
	}
	if want-1 != n {
		t.Fatalf("%d events, want %d", want-1, n)
	}
}

func testConflict(t *testing.T, h *harness) {
	first, second := load(t, h.counters(t), "x"), load(t, h.counters(t, kvstate.WithRetries(0)), "x")
	_, err := first.Process(ctx, Increment{By: 1})
	must(t, err)
	before := h.recordsText(t)
	_, err = second.Process(ctx, Increment{By: 10})
	if !errors.Is(err, kvstate.ErrConflict) || !errors.Is(err, kvcore.ErrVersionMismatch) {
		t.Fatalf("a lost write without retries: %v, want ErrConflict and ErrVersionMismatch", err)
	}
	if after := h.recordsText(t); after != before {
		t.Fatalf("a lost write changed the store:\n%s\nwas:\n%s", after, before)
	}
	// The entity holds what it reloaded: committed state only.
	if second.State().N != 1 || second.Version() != 1 || second.Seq() != 2 {
		t.Fatalf("after a conflict: state %+v, version %d, seq %d", second.State(), second.Version(), second.Seq())
	}
	_, err = second.Process(ctx, Increment{By: 10})
	must(t, err)
	if second.State().N != 11 {
		t.Fatalf("state %+v, want 11", second.State())
	}
}

// testConcurrent: 16 goroutines load one entity from one machine and
// increment it 100 times each. The machine's entity runs them one at a
// time: none is lost, and none conflicts.
func testConcurrent(t *testing.T, h *harness) {
	const goroutines, each = 16, 100
	calls, err := Increments(ctx, h.store, "hot", Writers{Goroutines: goroutines, Each: each})
	must(t, err)
	if calls != goroutines*each {
		t.Errorf("%d transitions for %d commits: goroutines of one machine conflicted", calls, goroutines*each)
	}
	CheckIncrements(t, h.store, "hot", goroutines*each)
}

// testConcurrentMachines: 4 goroutines, each with its own machine (as
// separate processes), increment one entity 50 times each. Their writes
// conflict; each loser reloads and runs again, and none is lost. (The
// retries are raised: writers that do nothing but hammer one entity can
// lose more than DefaultRetries times in a row.)
func testConcurrentMachines(t *testing.T, h *harness) {
	const goroutines, each = 4, 50
	calls, err := Increments(ctx, h.store, "hot", Writers{Goroutines: goroutines, Each: each, Machines: goroutines,
		Options: []kvstate.Option{kvstate.WithRetries(10000)}})
	must(t, err)
	t.Logf("%d transitions for %d commits: %d lost to conflicts and run again", calls, goroutines*each, calls-goroutines*each)
	CheckIncrements(t, h.store, "hot", goroutines*each)
}

// testOneEntityPerID: a machine hands every goroutine that loads an id
// the same entity; Load reads it afresh; once unused it is let go.
func testOneEntityPerID(t *testing.T, h *harness) {
	m := h.counters(t)
	a, b := load(t, m, "one"), load(t, m, "one")
	if a != b {
		t.Fatal("one machine loaded two entities for one id")
	}
	if load(t, m, "other") == a {
		t.Fatal("two ids share an entity")
	}
	_, err := load(t, h.counters(t), "one").Process(ctx, Increment{By: 7}) // another process, say
	must(t, err)
	if a.State().N != 0 {
		t.Fatalf("entity changed without a load: %+v", a.State())
	}
	if c := load(t, m, "one"); c != a || a.State().N != 7 || a.Version() != 1 {
		t.Fatalf("Load did not refresh the entity in use: %+v version %d", a.State(), a.Version())
	}
}

func testNoCollision(t *testing.T, h *harness) {
	counters := h.counters(t)
	other := h.counters(t, kvstate.WithKind("Counter2"))
	ids := []string{"a", "ab", "a b", "a.", "ä", "a\\"}
	for i, id := range ids {
		for j := 0; j <= i; j++ {
			_, err := load(t, counters, id).Process(ctx, Increment{By: 1})
			must(t, err)
		}
	}
	_, err := load(t, other, "a").Process(ctx, Increment{By: 100})
	must(t, err)
	for i, id := range ids {
		e := load(t, counters, id)
		if e.State().N != int64(i+1) {
			t.Fatalf("entity %q: %+v, want %d", id, e.State(), i+1)
		}
		CheckHistoryNumbers(t, counters, id, 2*int64(i+1))
	}
	if e := load(t, other, "a"); e.State().N != 100 || e.Seq() != 2 {
		t.Fatalf("the other kind's entity a: %+v, seq %d", e.State(), e.Seq())
	}
}

func testInvalidIDs(t *testing.T, h *harness) {
	m := h.counters(t)
	bad := []string{"", "a/b", "/", "a\x00", "\xff", strings.Repeat("i", kvcore.MaxKeyLen)}
	for _, id := range bad {
		if _, err := m.Load(ctx, id); !errors.Is(err, kvstate.ErrInvalidArgument) {
			t.Fatalf("Load(%.20q): %v, want ErrInvalidArgument", id, err)
		}
		if _, err := kvstate.New(ctx, h.store, id, CountTransition, CounterEvents); !errors.Is(err, kvstate.ErrInvalidArgument) {
			t.Fatalf("New(%.20q): %v, want ErrInvalidArgument", id, err)
		}
		for _, err := range m.History(ctx, id) {
			if !errors.Is(err, kvstate.ErrInvalidArgument) {
				t.Fatalf("History(%.20q): %v", id, err)
			}
		}
	}
	// The longest id allowed makes keys of at most MaxKeyLen bytes.
	longest := strings.Repeat("i", kvcore.MaxKeyLen-len("kvstate/Counter//events/0000000000000000001/out"))
	e := load(t, m, longest)
	_, err := e.Process(ctx, Increment{By: 1})
	must(t, err)
	if _, err := m.Load(ctx, longest+"i"); !errors.Is(err, kvstate.ErrInvalidArgument) {
		t.Fatalf("an id one byte too long: %v", err)
	}
	if n := len(h.records(t)); n != 3 {
		t.Fatalf("%d records, want the longest id's 3", n)
	}
}

func testCorrupt(t *testing.T, h *harness) {
	m := h.counters(t)
	for _, v := range []string{`{"n":1}`, `{"seq":-1,"state":{}}`, `{"seq":1,"state":{"n":"one"}}`, `[]`} {
		must(t, h.store.Put(ctx, "kvstate/Counter/bad/state", -1, json.RawMessage(v)))
		if _, err := m.Load(ctx, "bad"); !errors.Is(err, kvstate.ErrCorrupt) {
			t.Fatalf("state record %s: %v, want ErrCorrupt", v, err)
		}
	}
	// An event left behind beyond the state's last one (its state record
	// deleted, say) is reported, not retried as a conflict.
	e := load(t, m, "left")
	_, err := e.Process(ctx, Increment{By: 1})
	must(t, err)
	_, err = h.store.Delete(ctx, "kvstate/Counter/left/state")
	must(t, err)
	must(t, e.Reload(ctx))
	before := h.recordsText(t)
	if _, err := e.Process(ctx, Increment{By: 1}); !errors.Is(err, kvstate.ErrCorrupt) || errors.Is(err, kvstate.ErrConflict) {
		t.Fatalf("events in the way: %v, want ErrCorrupt", err)
	}
	if after := h.recordsText(t); after != before {
		t.Fatalf("a refused write changed the store:\n%s\nwas:\n%s", after, before)
	}
	must(t, h.store.Put(ctx, "kvstate/Counter/odd/events/0000000000000000001/sideways", -1, json.RawMessage(`{}`), kvcore.WithType("Increment")))
	for _, err := range m.History(ctx, "odd") {
		if !errors.Is(err, kvstate.ErrCorrupt) {
			t.Fatalf("an event key kvstate did not write: %v", err)
		}
	}
}
