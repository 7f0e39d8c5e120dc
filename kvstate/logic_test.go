package kvstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

func TestEventKeysSortByNumber(t *testing.T) {
	k, err := entityKeys("Account", "alice")
	if err != nil {
		t.Fatal(err)
	}
	seqs := []int64{1, 2, 9, 10, 11, 99, 100, 101, 999, 1000, 123456789, math.MaxInt64}
	var keys []string
	for _, s := range seqs {
		keys = append(keys, k.event(s, s%2 == 0))
	}
	if !sort.StringsAreSorted(keys) {
		t.Fatalf("event keys out of number order: %q", keys)
	}
	for i, key := range keys {
		if !strings.HasPrefix(key, k.events()) || key >= k.eventsEnd() || key <= k.events() {
			t.Fatalf("key %q outside [%q, %q)", key, k.events(), k.eventsEnd())
		}
		ref, ok := ParseEventKey(key)
		if want := (EventRef{Kind: "Account", ID: "alice", Seq: seqs[i], Outbound: seqs[i]%2 == 0}); !ok || ref != want {
			t.Fatalf("ParseEventKey(%q) = %+v, %t, want %+v", key, ref, ok, want)
		}
	}
	if got := k.event(1, false); got != "kvstate/Account/alice/events/0000000000000000001/in" {
		t.Fatalf("event key %q", got)
	}
	if got := k.state(); got != "kvstate/Account/alice/state" || (got >= k.events() && got < k.eventsEnd()) {
		t.Fatalf("state key %q", got)
	}
}

func TestParseEventKeyRejects(t *testing.T) {
	for _, key := range []string{
		"", "kvstate/", "kvstate/A/b/state", "kvstate//b/events/0000000000000000001/in",
		"kvstate/A//events/0000000000000000001/in", "kvstate/A/b/events/000000000000000001/in",
		"kvstate/A/b/events/0000000000000000000/in", "kvstate/A/b/events/0000000000000000001/up",
		"kvstate/A/b/events/0000000000000000001/in/", "kvstate/A/b/events/000000000000000000x/in",
		"kvstate/A/b/events/9999999999999999999/in", "other/A/b/events/0000000000000000001/in",
		"kvstate/A/b/c/events/0000000000000000001/in",
	} {
		if ref, ok := ParseEventKey(key); ok {
			t.Errorf("ParseEventKey(%q) = %+v, want false", key, ref)
		}
	}
}

func TestIDsAndKinds(t *testing.T) {
	maxID := kvcore.MaxKeyLen - layoutBytes - len("K")
	for _, tc := range []struct {
		kind, id string
		ok       bool
	}{
		{"K", "a", true},
		{"K", "a b.c:d\\e", true},
		{"K", strings.Repeat("x", maxID), true},
		{"K", strings.Repeat("x", maxID+1), false},
		{"K", "", false},
		{"K", "a/b", false},
		{"K", "a\x00", false},
		{"K", "\xff", false},
	} {
		k, err := entityKeys(tc.kind, tc.id)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidArgument)) {
			t.Fatalf("entityKeys(%q, %.20q): %v", tc.kind, tc.id, err)
		}
		if err == nil {
			if err := kvcore.ValidateKey(k.event(math.MaxInt64, true)); err != nil {
				t.Fatalf("longest key of id %.20q: %v", tc.id, err)
			}
		}
	}
	for _, kind := range []string{"", "a/b", "a\x00", strings.Repeat("k", kvcore.MaxKeyLen-layoutBytes)} {
		if err := checkKind(kind); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("checkKind(%.20q): %v", kind, err)
		}
	}
	if err := checkKind(strings.Repeat("k", kvcore.MaxKeyLen-layoutBytes-1)); err != nil {
		t.Fatalf("the longest kind: %v", err)
	}
}

type deposit struct{ Amount int64 }
type deposited struct{ Amount int64 }

func TestRegistry(t *testing.T) {
	r, err := newRegistry([]EventType{Event[deposit](), EventAs[deposited]("money.deposited", nil), Event[deposit]()})
	if err != nil {
		t.Fatal(err)
	}
	name, raw, err := r.encode(deposited{Amount: 5})
	if err != nil || name != "money.deposited" || string(raw) != `{"Amount":5}` {
		t.Fatalf("encode: %q %s %v", name, raw, err)
	}
	v, err := r.decode("deposit", json.RawMessage(`{"Amount":7}`))
	if err != nil || v != (deposit{Amount: 7}) {
		t.Fatalf("decode: %#v %v", v, err)
	}
	if _, err := r.decode("deposit", json.RawMessage(`{"Amount":"x"}`)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("decode of a bad value: %v", err)
	}
	for _, v := range []any{nil, &deposit{}, struct{}{}, 3} {
		if _, _, err := r.encode(v); !errors.Is(err, ErrUnknownEvent) {
			t.Fatalf("encode(%#v): %v", v, err)
		}
	}
	if _, err := r.decode("deposited", nil); !errors.Is(err, ErrUnknownEvent) {
		t.Fatalf("decode by the Go name of a renamed event: %v", err)
	}
	for i, types := range [][]EventType{
		{Event[*deposit]()},
		{Event[fmt.Stringer]()},
		{Event[struct{ A int }]()},
		{EventAs[deposit]("bad\x00name", nil)},
		{{}},
		{EventAs[deposit]("same", nil), EventAs[deposited]("same", nil)},
		{Event[deposit](), EventAs[deposit]("other", nil)},
	} {
		if _, err := newRegistry(types); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("registry %d: %v, want ErrInvalidArgument", i, err)
		}
	}
}

type account struct{ Balance int64 }

func applyAccount(a *account, e any) ([]any, error) {
	a.Balance += e.(deposit).Amount
	return []any{deposited(e.(deposit))}, nil
}

func TestNewMachineRefuses(t *testing.T) {
	store := &kvcore.Store{} // never used: these machines are refused first
	events := Events(Event[deposit](), Event[deposited]())
	for i, f := range []func() error{
		func() error { _, err := NewMachine(nil, applyAccount, events); return err },
		func() error { _, err := NewMachine[account](store, nil, events); return err },
		func() error { _, err := NewMachine(store, applyAccount, events, WithKind("a/b")); return err },
		func() error { _, err := NewMachine(store, applyAccount, events, WithKind("")); return err },
		func() error { _, err := NewMachine(store, applyAccount, events, WithRetries(-1)); return err },
		func() error { _, err := NewMachine(store, applyAccount, Events(Event[*deposit]())); return err },
		func() error {
			_, err := NewMachine(store, func(s *struct{ N int }, e any) ([]any, error) { return nil, nil })
			return err
		},
		func() error {
			_, err := NewMachine(store, func(s *chan int, e any) ([]any, error) { return nil, nil }, WithKind("ch"))
			return err
		},
	} {
		if err := f(); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("machine %d: %v, want ErrInvalidArgument", i, err)
		}
	}
	m, err := NewMachine(store, applyAccount, events, nil)
	if err != nil || m.Kind() != "account" || m.retries != DefaultRetries || string(m.zero) != `{"Balance":0}` {
		t.Fatalf("machine: %+v, %v", m, err)
	}
}

// The cost of what Process does besides the store, per event: the copy of
// the state (a decode of its JSON), the transition, the encoding of the
// events and of the new state, and the check that it decodes again.
func BenchmarkRun(b *testing.B) {
	type tally struct {
		Balance int64            `json:"balance"`
		Owners  map[string]int64 `json:"owners"`
	}
	for _, owners := range []int{0, 100} {
		b.Run(fmt.Sprintf("map-entries=%d", owners), func(b *testing.B) {
			m, err := NewMachine(&kvcore.Store{}, func(s *tally, e any) ([]any, error) {
				s.Balance += e.(deposit).Amount
				return []any{deposited(e.(deposit))}, nil
			}, Events(Event[deposit](), Event[deposited]()))
			if err != nil {
				b.Fatal(err)
			}
			s := tally{Owners: map[string]int64{}}
			for i := range owners {
				s.Owners[fmt.Sprintf("owner-%03d", i)] = int64(i)
			}
			raw, _, err := m.encodeState(&s)
			if err != nil {
				b.Fatal(err)
			}
			k, _ := entityKeys(m.kind, "bench")
			e := &Entity[tally]{m: m, id: "bench", keys: k}
			name, ev, _ := m.events.encode(deposit{Amount: 1})
			in := []encodedEvent{{name: name, raw: ev, value: deposit{Amount: 1}}}
			cur := snapshot{state: raw, version: 1, seq: 2}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := e.run(cur, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw)), "state-bytes")
		})
	}
}

func TestMachineForgetsUnusedEntities(t *testing.T) {
	m, err := NewMachine(&kvcore.Store{}, applyAccount, Events(Event[deposit](), Event[deposited]()))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := entityKeys(m.kind, "a")
	if e := m.entity("a", k); m.entity("a", k) != e {
		t.Fatal("two entities for one id")
	}
	live := func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.live)
	}
	for deadline := time.Now().Add(10 * time.Second); live() > 0 && time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if n := live(); n != 0 {
		t.Fatalf("%d entities kept after their last user let go", n)
	}
}
