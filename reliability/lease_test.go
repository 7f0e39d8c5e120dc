package reliability_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/reliability/internal/reltest"
)

// Lease contention settings.
const (
	leaseName     = "rel-lease"
	leaseDuration = 300 * time.Millisecond
	counterKey    = "fenced-counter"
)

// holding is one acquisition of the lease, as its holder saw it. Times are
// Unix nanoseconds on the machine's wall clock, shared by all processes.
type holding struct {
	Owner   string `json:"owner"`
	Token   int64  `json:"token"`
	Start   int64  `json:"start"`   // Acquire returned
	Expires int64  `json:"expires"` // the lease's expiry as granted
	End     int64  `json:"end"`     // min(Release called, Expires)
	Stale   bool   `json:"stale"`   // held on past its expiry without releasing
	// Write is the fenced write's outcome: "ok"; "fenced" (a stale holder
	// refused, as it must be); "late" (refused after the lease expired
	// while the holder worked: allowed); or "violation: ...".
	Write string `json:"write"`
}

// contend acquires the lease again and again until until, as owner
// prefix-1, prefix-2, ... (every acquisition a new owner, so each must get
// a new token), and emits each holding. Most holders do a fenced
// increment of a counter and release; some (the first of each "-g0"
// goroutine, then one in eight) sleep past their expiry without releasing
// and then try a fenced write, which must fail.
func contend(ctx context.Context, b *backend, prefix string, until time.Time, emit func(holding)) error {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	seq := 0
	for time.Now().Before(until) {
		owner := fmt.Sprintf("%s-%d", prefix, seq)
		le, ok, err := b.locker.Acquire(ctx, leaseName, owner, leaseDuration)
		if err != nil {
			return err
		}
		if !ok {
			time.Sleep(time.Duration(1+rng.IntN(4)) * time.Millisecond)
			continue
		}
		seq++
		h := holding{Owner: owner, Token: le.Token, Start: time.Now().UnixNano(), Expires: le.Expires.UnixNano()}
		// The first holding of every "-g0" goroutine is stale, so each
		// run tests some; after that one in eight.
		if (seq == 1 && strings.HasSuffix(prefix, "-g0")) || rng.IntN(8) == 0 {
			h.Stale, h.End = true, h.Expires
			time.Sleep(time.Until(le.Expires) + 20*time.Millisecond)
			err := fencedIncrement(ctx, b.store, le.Token)
			h.Write = "fenced"
			if !errors.Is(err, kvcore.ErrFenced) {
				h.Write = fmt.Sprintf("violation: a stale holder's fenced write returned %v, want ErrFenced", err)
			}
		} else {
			time.Sleep(time.Duration(rng.IntN(int(leaseDuration/time.Millisecond)/8)) * time.Millisecond)
			err := fencedIncrement(ctx, b.store, le.Token)
			returned := time.Now()
			switch {
			case err == nil:
				h.Write = "ok"
			case returned.Before(le.Expires):
				h.Write = fmt.Sprintf("violation: fenced write refused inside the lease: %v", err)
			case errors.Is(err, kvcore.ErrFenced) || errors.Is(err, kvcore.ErrVersionMismatch):
				h.Write = "late"
			default:
				return err
			}
			h.End = min(time.Now().UnixNano(), h.Expires)
			if _, err := b.locker.Release(ctx, leaseName, owner); err != nil {
				return err
			}
		}
		emit(h)
	}
	return nil
}

// fencedIncrement reads the counter and writes it plus one, fenced with
// token and conditional on the version read: under mutual exclusion the
// version always holds.
func fencedIncrement(ctx context.Context, s *kvcore.Store, token int64) error {
	var n int64
	var version int64
	rec, err := s.GetRecord(ctx, counterKey)
	switch {
	case err == nil:
		version = rec.Version
		if err := rec.Decode(&n); err != nil {
			return err
		}
	case !errors.Is(err, kvcore.ErrNotFound):
		return err
	}
	return s.WithFence(leaseName, token).Put(ctx, counterKey, version, n+1)
}

// leaseContender is the child: goroutines (envArg of them) contend until
// envUntil and print each holding as a JSON line.
func leaseContender() error {
	ctx := context.Background()
	goroutines, err := strconv.Atoi(os.Getenv(envArg))
	if err != nil {
		return err
	}
	ms, err := strconv.ParseInt(os.Getenv(envUntil), 10, 64)
	if err != nil {
		return err
	}
	b, err := childBackend(ctx)
	if err != nil {
		return err
	}
	defer b.close()
	out := &lineWriter{}
	out.printf("ready")
	return runContenders(ctx, b, os.Getenv(envName), goroutines, time.UnixMilli(ms), func(h holding) {
		line, _ := json.Marshal(h)
		out.printf("%s", line)
	})
}

// runContenders runs n contending goroutines named prefix-g<i>.
func runContenders(ctx context.Context, b *backend, prefix string, n int, until time.Time, emit func(holding)) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[g] = contend(ctx, b, fmt.Sprintf("%s-g%d", prefix, g), until, emit)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// TestLeaseContention has goroutines of this process and of several child
// processes contend for one lease, then checks the holdings: tokens are
// unique and grow in acquisition order, no two holders' intervals overlap
// (an interval runs from Acquire's return to the release or the expiry,
// whichever is first), every stale holder's fenced write failed with
// ErrFenced, and the fenced counter equals the number of fenced writes that
// succeeded (no lost update).
func TestLeaseContention(t *testing.T) {
	forEachBackend(t, "lease", testLeases)
}

// testLeases runs TestLeaseContention on one backend.
func testLeases(t *testing.T, kind, where string) {
	ctx := context.Background()
	b, err := openBackend(ctx, kind, where)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	const procs, perProc, local = 2, 3, 4
	until := time.Now().Add(reltest.ShortOrLong(5*time.Second, 60*time.Second))
	var children []*child
	stopChildren(t, &children)
	for p := range procs {
		c, err := startChild("lease-contender", fmt.Sprintf("p%d", p), envBackend+"="+kind, envWhere+"="+where,
			envArg+"="+strconv.Itoa(perProc), envUntil+"="+strconv.FormatInt(until.UnixMilli(), 10))
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, c)
	}
	var mu sync.Mutex
	var all []holding
	if err := runContenders(ctx, b, "parent", local, until, func(h holding) {
		mu.Lock()
		all = append(all, h)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	fromChildren := 0
	for _, c := range children {
		if err := c.wait(30 * time.Second); err != nil {
			t.Fatalf("contender %s: %v; stderr:\n%s", c.name, err, c.stderrText())
		}
		for _, line := range c.output() {
			var h holding
			if err := json.Unmarshal([]byte(line), &h); err != nil {
				t.Fatalf("contender %s: line %q: %v", c.name, line, err)
			}
			all = append(all, h)
			fromChildren++
		}
	}
	if fromChildren == 0 {
		t.Fatal("no child process ever held the lease: the cross-process part checked nothing")
	}
	if err := checkHoldings(all); err != nil {
		t.Fatal(err)
	}

	var counter int64
	rec, err := b.store.GetRecord(ctx, counterKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Decode(&counter); err != nil {
		t.Fatal(err)
	}
	var ok, stale, late int64
	for _, h := range all {
		switch h.Write {
		case "ok":
			ok++
		case "fenced":
			stale++
		case "late":
			late++
		}
	}
	if counter != ok {
		t.Fatalf("the fenced counter is %d but %d fenced writes succeeded: an update was lost", counter, ok)
	}
	if stale == 0 {
		t.Fatal("no stale holder was tested")
	}
	t.Logf("%s: %d lease acquisitions checked (%d by %d child processes); %d fenced writes succeeded, %d stale holders fenced off with ErrFenced, %d refused after their lease expired mid-work",
		kind, len(all), fromChildren, procs, ok, stale, late)
}

// checkHoldings checks the lease rules over all holdings and returns the
// first broken one.
func checkHoldings(all []holding) error {
	for _, h := range all {
		if strings.HasPrefix(h.Write, "violation") {
			return fmt.Errorf("holder %s (token %d): %s", h.Owner, h.Token, h.Write)
		}
	}
	byToken := slices.Clone(all)
	slices.SortFunc(byToken, func(a, b holding) int { return cmp.Compare(a.Token, b.Token) })
	for i := 1; i < len(byToken); i++ {
		if byToken[i].Token == byToken[i-1].Token {
			return fmt.Errorf("token %d was granted twice: to %s and %s", byToken[i].Token, byToken[i-1].Owner, byToken[i].Owner)
		}
	}
	// No overlap: a later token's holder starts only after every earlier
	// holder's interval ended.
	var latestEnd int64
	var latestOwner string
	for _, h := range byToken {
		if h.Start < latestEnd {
			return fmt.Errorf("holder %s (token %d) started %v before holder %s's interval ended",
				h.Owner, h.Token, time.Duration(latestEnd-h.Start), latestOwner)
		}
		if h.End > latestEnd {
			latestEnd, latestOwner = h.End, h.Owner
		}
	}
	// Tokens strictly increase in acquisition order.
	byStart := slices.Clone(all)
	slices.SortFunc(byStart, func(a, b holding) int { return cmp.Compare(a.Start, b.Start) })
	for i := 1; i < len(byStart); i++ {
		if byStart[i].Token <= byStart[i-1].Token {
			return fmt.Errorf("holder %s acquired after %s but got token %d <= %d",
				byStart[i].Owner, byStart[i-1].Owner, byStart[i].Token, byStart[i-1].Token)
		}
	}
	return nil
}

// TestLeaseCheckerCatchesViolations feeds checkHoldings doctored holdings
// and asserts it rejects each, and accepts the undoctored ones.
func TestLeaseCheckerCatchesViolations(t *testing.T) {
	a := holding{Owner: "a", Token: 1, Start: 0, Expires: 300, End: 100, Write: "ok"}
	b := holding{Owner: "b", Token: 2, Start: 150, Expires: 450, End: 200, Write: "ok"}
	if err := checkHoldings([]holding{b, a}); err != nil {
		t.Fatalf("legal holdings rejected: %v", err)
	}
	overlap := b
	overlap.Start = 50
	sameToken := b
	sameToken.Token = 1
	inverted := b
	inverted.Token = 0
	unfenced := b
	unfenced.Write = "violation: a stale holder's fenced write returned <nil>, want ErrFenced"
	for name, hs := range map[string][]holding{
		"overlapping intervals":            {a, overlap},
		"a token granted twice":            {a, sameToken},
		"tokens against acquisition order": {a, inverted},
		"a stale write not fenced":         {a, unfenced},
	} {
		if err := checkHoldings(hs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
