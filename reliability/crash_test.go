package reliability_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
	"github.com/kvsuite/kv/reliability/internal/reltest"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
)

// Shape of the crash workload: writers, each owning keysPerWriter keys.
const (
	crashWriters  = 16
	keysPerWriter = 4
	roundSpan     = 1_000_000 // write numbers of round r are r*roundSpan+1, +2, ...
)

// crashKey is the key that write n of writer w goes to: a writer owns its
// keys, so the only writes a key sees are its writer's, in order.
func crashKey(w int, n int64) string { return fmt.Sprintf("w%02d/k%d", w, n%keysPerWriter) }

// crashValue is what a key holds: the number of the write that wrote it last.
type crashValue struct {
	W   int         `json:"w"`
	N   json.Number `json:"n"`
	Pad string      `json:"pad,omitempty"`
}

// crashWriter is the child: it opens the SQLite file, says "ready", and
// writes with crashWriters goroutines until it is killed, printing
// "ack <writer> <n>" after each write returned nil. Write n is a put when
// n%10 < 6, a read then compare-and-set put when n%10 is 6 or 7, and a
// merge patch otherwise.
func crashWriter() error {
	ctx := context.Background()
	round, err := strconv.ParseInt(os.Getenv(envArg), 10, 64)
	if err != nil {
		return fmt.Errorf("round: %w", err)
	}
	db, err := sqlitekv.Open(os.Getenv(envWhere))
	if err != nil {
		return err
	}
	if err := db.Init(ctx); err != nil {
		return err
	}
	s, err := db.Store(kvcore.WithSweepInterval(0))
	if err != nil {
		return err
	}
	out := &lineWriter{}
	out.printf("ready")
	errs := make(chan error, crashWriters)
	for w := range crashWriters {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(round)))
			for n := round*roundSpan + 1; ; n++ {
				if err := crashWrite(ctx, s, w, n, rng); err != nil {
					errs <- fmt.Errorf("writer %d write %d (%s): %w", w, n, crashKey(w, n), err)
					return
				}
				out.printf("ack %d %d", w, n)
			}
		}()
	}
	select {
	case err := <-errs:
		return err
	case <-time.After(2 * time.Minute): // the parent should have killed us long ago
		return errors.New("not killed within 2 minutes")
	}
}

// crashWrite does write n of writer w.
func crashWrite(ctx context.Context, s *kvcore.Store, w int, n int64, rng *rand.Rand) error {
	key := crashKey(w, n)
	num := json.Number(strconv.FormatInt(n, 10))
	switch n % 10 {
	case 6, 7:
		var version int64 // 0: must not exist yet
		rec, err := s.GetRecord(ctx, key)
		switch {
		case err == nil:
			version = rec.Version
		case !errors.Is(err, kvcore.ErrNotFound):
			return err
		}
		// Only this writer writes the key, so the version must hold.
		return s.Put(ctx, key, version, crashValue{W: w, N: num})
	case 8, 9:
		return s.Patch(ctx, key, -1, map[string]any{"w": w, "n": num})
	}
	return s.Put(ctx, key, -1, crashValue{W: w, N: num, Pad: strings.Repeat("x", rng.IntN(300))})
}

// crashLedger is what the parent knows about the writes: which were
// acknowledged, and which may have been in flight at a kill.
type crashLedger struct {
	acked    map[string]map[int64]bool // key -> acknowledged write numbers
	maxAcked map[string]int64
	inFlight map[string]map[int64]bool // key -> writes that may have been in flight at a kill
	total    int                       // acknowledged writes
}

func newCrashLedger() *crashLedger {
	return &crashLedger{acked: map[string]map[int64]bool{}, maxAcked: map[string]int64{}, inFlight: map[string]map[int64]bool{}}
}

func addTo(m map[string]map[int64]bool, key string, n int64) {
	if m[key] == nil {
		m[key] = map[int64]bool{}
	}
	m[key][n] = true
}

// addRound records a killed round's acknowledgements. Each writer writes in
// order, so its next write after the last acknowledged one may have been in
// flight (it may or may not have committed).
func (l *crashLedger) addRound(t *testing.T, round int64, lines []string) int {
	last := make([]int64, crashWriters)
	for w := range last {
		last[w] = round * roundSpan
	}
	for _, line := range lines {
		var w int
		var n int64
		if _, err := fmt.Sscanf(line, "ack %d %d", &w, &n); err != nil || w < 0 || w >= crashWriters {
			t.Fatalf("round %d: unexpected output line %q", round, line)
		}
		if n != last[w]+1 {
			t.Fatalf("round %d: writer %d acknowledged %d after %d", round, w, n, last[w])
		}
		last[w] = n
		key := crashKey(w, n)
		addTo(l.acked, key, n)
		l.maxAcked[key] = max(l.maxAcked[key], n)
		l.total++
	}
	for w, n := range last {
		addTo(l.inFlight, crashKey(w, n+1), n+1)
	}
	return len(lines)
}

// TestCrashSafetySQLite kills a writing child process with SIGKILL at
// random moments, again and again on the same file, and after each kill
// checks that every acknowledged write survived, that SQLite's
// integrity_check is ok, and that the change stream agrees with the data.
func TestCrashSafetySQLite(t *testing.T) {
	kills := reltest.ShortOrLong(10, 120)
	path := filepath.Join(t.TempDir(), "crash.db")
	ledger := newCrashLedger()
	var children []*child
	stopChildren(t, &children)
	var streamChecked int
	for round := range int64(kills) {
		c, err := startChild("crash-writer", fmt.Sprintf("crash%d", round),
			envWhere+"="+path, envArg+"="+strconv.FormatInt(round, 10))
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, c)
		if err := c.waitReady(60 * time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		select {
		case <-c.done:
			t.Fatalf("round %d: the writer exited by itself: %v; stderr:\n%s", round, c.exitErr(), c.stderrText())
		default:
		}
		c.kill()
		n := ledger.addRound(t, round, c.output())
		streamChecked = verifyCrash(t, path, ledger)
		t.Logf("kill %d: %d writes acknowledged before it; all %d acknowledged so far verified", round+1, n, ledger.total)
	}
	if ledger.total == 0 {
		t.Fatal("no write was acknowledged: the test checked nothing")
	}
	t.Logf("SQLite survived %d SIGKILLs; %d acknowledged writes verified; %d stream entries checked against the data",
		kills, ledger.total, streamChecked)
}

// verifyCrash checks the database after a kill and returns the number of
// stream entries it checked.
func verifyCrash(t *testing.T, path string, l *crashLedger) int {
	t.Helper()
	ctx := context.Background()
	integrityCheck(t, path)

	db, err := sqlitekv.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := db.Store(kvcore.WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs, err := s.List(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	records := kvcore.RecordsOf(recs)
	for key, max := range l.maxAcked {
		rec, ok := records[key]
		if !ok {
			t.Fatalf("key %s is missing; write %d to it was acknowledged", key, max)
		}
		n := writeNumber(t, rec.Value)
		if n < max {
			t.Fatalf("key %s holds write %d, older than the acknowledged write %d: an acknowledged write was lost", key, n, max)
		}
		if !l.acked[key][n] && !l.inFlight[key][n] {
			t.Fatalf("key %s holds write %d, which was neither acknowledged nor in flight at a kill", key, n)
		}
	}
	for key := range records {
		if _, ok := l.acked[key]; !ok && !hasAny(l.inFlight[key]) {
			t.Fatalf("key %s exists but no write to it was acknowledged or in flight", key)
		}
	}
	return verifyStream(t, db, records, l)
}

func hasAny(m map[int64]bool) bool { return len(m) > 0 }

// writeNumber returns the write number a value carries.
func writeNumber(t *testing.T, value []byte) int64 {
	t.Helper()
	var v crashValue
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("value %s: %v", value, err)
	}
	n, err := v.N.Int64()
	if err != nil {
		t.Fatalf("value %s: write number: %v", value, err)
	}
	return n
}

// integrityCheck runs PRAGMA integrity_check on the file with a plain
// SQLite connection.
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var res []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		res = append(res, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0] != "ok" {
		t.Fatalf("PRAGMA integrity_check: %q", res)
	}
}

// verifyStream reads the whole change stream and checks it against the
// records: per key, versions 1, 2, 3... in seq order; the last entry of a
// key has its record's version and value; every acknowledged write has an
// entry; and no key has entries but no record (nothing is deleted).
func verifyStream(t *testing.T, db *sqlitekv.DB, records map[string]kvcore.Record, l *crashLedger) int {
	t.Helper()
	ctx := context.Background()
	st, err := kvstream.New(db)
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]kvstream.Record{}
	written := map[string]map[int64]bool{}
	var seq int64
	total := 0
	for from := int64(1); ; {
		batch, err := st.Read(ctx, from, kvstream.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, e := range batch {
			if e.Seq <= seq {
				t.Fatalf("stream seq %d after %d", e.Seq, seq)
			}
			seq = e.Seq
			prev, seen := last[e.Key]
			want := int64(1)
			if seen {
				want = prev.Version + 1
			}
			if e.Version != want {
				t.Fatalf("stream seq %d: key %s version %d, want %d", e.Seq, e.Key, e.Version, want)
			}
			if wantAction := map[bool]string{false: "create", true: "update"}[seen]; e.Action != wantAction {
				t.Fatalf("stream seq %d: key %s action %q, want %q", e.Seq, e.Key, e.Action, wantAction)
			}
			last[e.Key] = e
			addTo(written, e.Key, writeNumber(t, e.Value))
			total++
		}
		from = seq + 1
	}
	for key, e := range last {
		rec, ok := records[key]
		if !ok {
			t.Fatalf("the stream has key %s (last seq %d, version %d) but the data has no record", key, e.Seq, e.Version)
		}
		if rec.Version != e.Version || !bytes.Equal(rec.Value, e.Value) {
			t.Fatalf("key %s: record version %d value %s, but the stream's last entry has version %d value %s",
				key, rec.Version, rec.Value, e.Version, e.Value)
		}
	}
	for key := range records {
		if _, ok := last[key]; !ok {
			t.Fatalf("key %s has a record but no stream entry", key)
		}
	}
	for key, ns := range l.acked {
		for n := range ns {
			if !written[key][n] {
				t.Fatalf("acknowledged write %d to %s has no stream entry", n, key)
			}
		}
	}
	return total
}
