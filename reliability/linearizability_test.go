package reliability_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/reliability"
	"github.com/kvsuite/kv/reliability/internal/reltest"
)

// checkTimeout bounds one porcupine check; Unknown (timed out) fails.
const checkTimeout = 2 * time.Minute

// TestLinearizability runs 8 concurrent clients doing reads, blind writes
// and compare-and-set writes on a few shared keys against every backend
// (and a three-node rqlited cluster), and checks the recorded history with
// porcupine against RegisterModel.
func TestLinearizability(t *testing.T) {
	w := reliability.Workload{Clients: 8, Keys: 4, OpsPerClient: reltest.ShortOrLong(150, 3000), KeyPrefix: "lin/"}
	forEachBackend(t, "lin", func(t *testing.T, kind, where string) {
		if kind == "rqlite" {
			where += "?level=linearizable" // the strongest read level (the stand-in accepts it too)
		}
		b, err := openBackend(context.Background(), kind, where)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.close)
		checkStore(t, b.store, w)
	})
	// On a three-node cluster, through a follower: it forwards every write
	// and every read (at the linearizable level) to the leader.
	t.Run("rqlited-cluster", func(t *testing.T) {
		c := rqlitetest.StartRqlitedCluster(t, 3)
		followers, err := c.Followers()
		if err != nil {
			t.Fatal(err)
		}
		where := "http://" + followers[0].HTTPAddr + "?disableClusterDiscovery=true&level=linearizable"
		b, err := openBackend(context.Background(), "rqlite", where)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.close)
		checkStore(t, b.store, w)
	})
}

// checkStore runs the workload on s, checks the history, and checks that
// the checker accepts a correct read appended after the history and
// rejects a stale one (so a pass is not a checker that accepts anything).
// w.KeyPrefix must be set.
func checkStore(t *testing.T, s *kvcore.Store, w reliability.Workload) {
	ctx := context.Background()
	history, err := reliability.RunWorkload(ctx, s, w)
	if err != nil {
		t.Fatal(err)
	}
	model := requireLinearizable(t, history)
	counts := map[reliability.OpKind]int{}
	mismatches := 0
	for _, op := range history {
		counts[op.Input.(reliability.Input).Kind]++
		if op.Output.(reliability.Output).Mismatch {
			mismatches++
		}
	}
	t.Logf("%s: porcupine checked %d operations (%d gets, %d puts, %d CAS of which %d refused): linearizable",
		filepath.Base(t.Name()), len(history), counts[reliability.OpGet], counts[reliability.OpPut], counts[reliability.OpCAS], mismatches)

	// Controls: a read after everything must see the final record.
	key := w.KeyPrefix + "0"
	final, err := s.GetRecord(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	end := history[0].Return
	for _, op := range history {
		end = max(end, op.Return)
	}
	read := func(version int64, value string) porcupine.Operation {
		return porcupine.Operation{ClientId: w.Clients, Input: reliability.Input{Kind: reliability.OpGet, Key: key},
			Call: end + 1, Output: reliability.Output{Found: true, Version: version, Value: value}, Return: end + 2}
	}
	good := append(history[:len(history):len(history)], read(final.Version, string(final.Value)))
	if res := porcupine.CheckOperationsTimeout(model, good, checkTimeout); res != porcupine.Ok {
		t.Fatalf("control: the history plus a read of the final record is %s, want Ok", res)
	}
	if final.Version < 2 {
		t.Fatalf("key %s ends at version %d: the workload wrote too little to test a stale read", key, final.Version)
	}
	stale := append(history[:len(history):len(history)], read(final.Version-1, `"stale"`))
	if res := porcupine.CheckOperationsTimeout(model, stale, checkTimeout); res != porcupine.Illegal {
		t.Fatalf("control: the history plus a stale read is %s, want Illegal", res)
	}
}

// requireLinearizable checks history with porcupine against
// RegisterModel and fails t, leaving porcupine's view of the history and
// the operations of each illegal key in the temp directory, unless it is
// linearizable. It returns the model.
func requireLinearizable(t *testing.T, history []porcupine.Operation) porcupine.Model {
	t.Helper()
	model := reliability.RegisterModel()
	res, info := porcupine.CheckOperationsVerbose(model, history, checkTimeout)
	if res != porcupine.Ok {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("kv-linearizability-%s-%d.html", filepath.Base(t.Name()), time.Now().UnixNano()))
		if err := porcupine.VisualizePath(model, info, path); err == nil {
			t.Logf("porcupine's view of the history: %s", path)
		}
		dumpIllegal(t, model, history)
		t.Fatalf("porcupine: %s for %d operations", res, len(history))
	}
	return model
}

// op builds a history entry for the checker tests.
func op(client int, call, ret int64, in reliability.Input, out reliability.Output) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
}

// TestCheckerCatchesViolations feeds the checker doctored histories and
// asserts it reports each one illegal, and the undoctored ones legal.
func TestCheckerCatchesViolations(t *testing.T) {
	get := reliability.Input{Kind: reliability.OpGet, Key: "k"}
	put := func(v string) reliability.Input {
		return reliability.Input{Kind: reliability.OpPut, Key: "k", Value: v}
	}
	cas := func(ver int64, v string) reliability.Input {
		return reliability.Input{Kind: reliability.OpCAS, Key: "k", Version: ver, Value: v}
	}
	saw := func(ver int64, v string) reliability.Output {
		return reliability.Output{Found: true, Version: ver, Value: v}
	}
	ok := reliability.Output{}
	refused := reliability.Output{Mismatch: true}
	other := reliability.Input{Kind: reliability.OpPut, Key: "other", Value: `"x"`}
	expire := reliability.Input{Kind: reliability.OpExpire, Key: "k"}
	found := reliability.Output{Found: true}

	cases := []struct {
		name    string
		history []porcupine.Operation
		want    porcupine.CheckResult
	}{
		{"read of the value written", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(1, 20, 30, get, saw(1, `"a"`))}, porcupine.Ok},
		{"read of a value never written", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(1, 20, 30, get, saw(1, `"b"`))}, porcupine.Illegal},
		{"stale read after a completed write", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(0, 20, 30, put(`"b"`), ok), op(1, 40, 50, get, saw(1, `"a"`))}, porcupine.Illegal},
		{"read concurrent with a write may see either", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(0, 20, 50, put(`"b"`), ok), op(1, 30, 40, get, saw(1, `"a"`))}, porcupine.Ok},
		{"read of a missing key after it was written", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(1, 20, 30, get, reliability.Output{})}, porcupine.Illegal},
		{"two CAS from the same version both succeed", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(0, 20, 30, cas(1, `"b"`), ok), op(1, 40, 50, cas(1, `"c"`), ok)}, porcupine.Illegal},
		{"CAS refused although its version held", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(1, 20, 30, cas(1, `"b"`), refused)}, porcupine.Illegal},
		{"CAS refused, then the value unchanged", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(1, 20, 30, cas(7, `"b"`), refused), op(1, 40, 50, get, saw(1, `"a"`))}, porcupine.Ok},
		{"version skipped", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(0, 20, 30, put(`"b"`), ok), op(1, 40, 50, get, saw(3, `"b"`))}, porcupine.Illegal},
		{"read of an expired record", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(2, 20, 30, expire, found), op(1, 40, 50, get, saw(1, `"a"`))}, porcupine.Illegal},
		{"missing after an expiry, then created again at version 1", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(0, 12, 18, put(`"b"`), ok), op(2, 20, 30, expire, found), op(1, 40, 50, get, ok),
			op(0, 60, 70, put(`"c"`), ok), op(1, 80, 90, get, saw(1, `"c"`))}, porcupine.Ok},
		{"a write after an expiry may have found the record live", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(2, 20, 30, expire, found), op(0, 40, 50, put(`"b"`), ok), op(1, 60, 70, get, saw(2, `"b"`))}, porcupine.Ok},
		{"a CAS from 0 after an expiry may have found the record live", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(2, 20, 30, expire, found), op(0, 40, 50, cas(0, `"b"`), refused), op(1, 60, 70, get, ok)}, porcupine.Ok},
		{"a write after an expiry at neither version", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(2, 20, 30, expire, found), op(0, 40, 50, put(`"b"`), ok), op(1, 60, 70, get, saw(3, `"b"`))}, porcupine.Illegal},
		{"an expiry that found a missing key", []porcupine.Operation{
			op(2, 0, 10, expire, found)}, porcupine.Illegal},
		{"an expiry concurrent with a read may come after it", []porcupine.Operation{
			op(0, 0, 10, put(`"a"`), ok), op(2, 20, 50, expire, found), op(1, 30, 40, get, saw(1, `"a"`))}, porcupine.Ok},
		{"a violation on one key among legal others", []porcupine.Operation{
			op(2, 0, 5, other, ok), op(0, 0, 10, put(`"a"`), ok), op(0, 20, 30, put(`"b"`), ok), op(1, 40, 50, get, saw(1, `"a"`))}, porcupine.Illegal},
	}
	model := reliability.RegisterModel()
	for _, c := range cases {
		if got := porcupine.CheckOperationsTimeout(model, c.history, 10*time.Second); got != c.want {
			t.Errorf("%s: porcupine says %s, want %s", c.name, got, c.want)
		}
	}
}

// dumpIllegal writes, for each key whose history porcupine rejects, that
// key's operations in call order to a file in the temp directory, and logs
// where.
func dumpIllegal(t *testing.T, model porcupine.Model, history []porcupine.Operation) {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		k := op.Input.(reliability.Input).Key
		byKey[k] = append(byKey[k], op)
	}
	for key, ops := range byKey {
		if porcupine.CheckOperationsTimeout(model, ops, checkTimeout) == porcupine.Ok {
			continue
		}
		slices.SortFunc(ops, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
		var b strings.Builder
		for _, op := range ops {
			fmt.Fprintf(&b, "%12d %12d c%d %s\n", op.Call, op.Return, op.ClientId, model.DescribeOperation(op.Input, op.Output))
		}
		path := filepath.Join(os.TempDir(), fmt.Sprintf("kv-linearizability-%s-%s-%d.txt", filepath.Base(t.Name()), strings.ReplaceAll(key, "/", "_"), time.Now().UnixNano()))
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err == nil {
			t.Logf("key %s is not linearizable; its %d operations (call, return, client, op) are in %s", key, len(ops), path)
		}
	}
}
