package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/kvstream"
)

func runBank(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a safety net only
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, args, &out); err != nil {
		t.Fatalf("run %q: %v\n%s", args, err, out.String())
	}
	return out.String()
}

const wantDemo = `alice: deposited 100, balance 100
alice: withdrew 30, balance 70
alice: refused: withdrawal of 500, balance 70
bob: rejected, nothing recorded: kvstate account "bob": process: event 0 (Deposit): deposit of 0: amount must be positive
alice: sent 50 to bob, balance 20
bob: received 50 from alice (transfer alice/8), balance 50
alice: balance 20, version 4
bob: balance 50, version 1
history of bob:
  1 in  Credit {Transfer:alice/8 From:alice Amount:50}
  2 out Credited {Transfer:alice/8 From:alice Amount:50 Balance:50}
`

// The demonstration: deposits and withdrawals, a withdrawal refused (and
// recorded), a deposit rejected (and not recorded), a transfer credited
// through the stream consumer.
func TestDemo(t *testing.T) {
	if got := runBank(t); got != wantDemo {
		t.Fatalf("got:\n%s\nwant:\n%s", got, wantDemo)
	}
}

// Commands on one database add up across runs; a transfer is credited
// once, even when the consumer delivers it again.
func TestCommandsAndRedelivery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"deposit", "carol", "40"}, "carol: deposited 40, balance 40\n"},
		{[]string{"transfer", "carol", "dave", "15"}, "carol: sent 15 to dave, balance 25\ndave: received 15 from carol (transfer carol/4), balance 15\n"},
		{[]string{"transfer", "carol", "dave", "26"}, "carol: refused: transfer to dave of 26, balance 25\n"},
		{[]string{"balance", "dave"}, "dave: balance 15, version 1\n"},
	}
	for _, s := range steps {
		if got := runBank(t, append([]string{"-db", path}, s.args...)...); got != s.want {
			t.Fatalf("run %q:\n got: %q\nwant: %q", s.args, got, s.want)
		}
	}
	// Deliver every transfer again, as after a crash before the commit.
	ctx := context.Background()
	db, err := sqlitekv.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := db.Store()
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stream, err := kvstream.New(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SetPosition(ctx, "bank-transfers", 0); err != nil {
		t.Fatal(err)
	}
	accounts, err := newAccounts(store)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	b := &bank{accounts: accounts, stream: stream, out: &out}
	if err := b.settleTransfers(ctx); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("a transfer delivered again was credited again: %s", out.String())
	}
	if got := runBank(t, "-db", path, "balance", "dave"); got != "dave: balance 15, version 1\n" {
		t.Fatalf("after the redelivery: %s", got)
	}
}

// Bad commands are errors that say what was wrong, and change nothing.
func TestBadCommands(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	for _, args := range [][]string{
		{"deposit", "erin"},
		{"deposit", "erin", "ten"},
		{"transfer", "erin", "erin", "1"},
		{"transfer", "erin", "a/b", "1"},
		{"deposit", "a/b", "1"},
		{"explode", "erin"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"-db", path}, args...), &out)
		if err == nil || out.Len() != 0 {
			t.Fatalf("run %q: err %v, output %q", args, err, out.String())
		}
	}
	if got := runBank(t, "-db", path, "history", "erin"); strings.TrimSpace(got) != "history of erin:" {
		t.Fatalf("bad commands left a history: %s", got)
	}
}
