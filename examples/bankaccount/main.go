// Command bankaccount keeps bank accounts as event-sourced state machines
// (package kvstate).
//
// Each account is an entity of the "account" machine. A command (deposit,
// withdraw, transfer) is an inbound event; the transition checks it against
// the balance and answers with outbound events (Deposited, Withdrawn,
// Refused, TransferSent); the new balance and every event are committed
// together. A transfer is two steps: the sender's TransferSent, then a
// kvstream consumer that follows TransferSent events by type credits the
// receiver. The consumer may see an event twice (after a crash, say), so
// the receiving account remembers the transfers it was credited.
//
//	go run ./examples/bankaccount                    # a demonstration on a temporary database
//	go run ./examples/bankaccount -db bank.db deposit alice 100
//	go run ./examples/bankaccount -db bank.db transfer alice bob 30
//	go run ./examples/bankaccount -db bank.db balance bob
//	go run ./examples/bankaccount -db bank.db history alice
//
// Without -db it uses a temporary SQLite file, removed at exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/kvsuite/kv/examples/internal/exampledb"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstate"
	"github.com/kvsuite/kv/kvstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bankaccount:", err)
		os.Exit(1)
	}
}

// Account is an account's state.
type Account struct {
	Balance int64 `json:"balance"`
	// Credited holds the ids of the transfers credited to the account, so
	// that a transfer delivered twice is credited once.
	Credited map[string]bool `json:"credited,omitempty"`
}

// The inbound events: what is asked of an account.
type (
	Deposit struct {
		Amount int64 `json:"amount"`
	}
	Withdraw struct {
		Amount int64 `json:"amount"`
	}
	Transfer struct {
		To     string `json:"to"`
		Amount int64  `json:"amount"`
	}
	// Credit is the receiving side of a transfer; Transfer is its id.
	Credit struct {
		Transfer string `json:"transfer"`
		From     string `json:"from"`
		Amount   int64  `json:"amount"`
	}
)

// The outbound events: what happened.
type (
	Deposited struct {
		Amount  int64 `json:"amount"`
		Balance int64 `json:"balance"`
	}
	Withdrawn struct {
		Amount  int64 `json:"amount"`
		Balance int64 `json:"balance"`
	}
	// Refused is a withdrawal or transfer beyond the balance: recorded,
	// but it moves no money.
	Refused struct {
		Asked   string `json:"asked"`
		Amount  int64  `json:"amount"`
		Balance int64  `json:"balance"`
	}
	TransferSent struct {
		To      string `json:"to"`
		Amount  int64  `json:"amount"`
		Balance int64  `json:"balance"`
	}
	Credited struct {
		Transfer string `json:"transfer"`
		From     string `json:"from"`
		Amount   int64  `json:"amount"`
		Balance  int64  `json:"balance"`
	}
)

// Errors the transition returns: the event is rejected and nothing is
// recorded.
var (
	// ErrBadAmount rejects a command whose amount is not positive.
	ErrBadAmount = errors.New("amount must be positive")
	// ErrCreditedAlready rejects a transfer credited before (delivered
	// again by the consumer).
	ErrCreditedAlready = errors.New("transfer credited already")
)

// apply is the account machine's transition: it changes a (a copy of the
// committed state) and says what happened.
func (a *Account) apply(event any) ([]any, error) {
	switch e := event.(type) {
	case Deposit:
		if e.Amount <= 0 {
			return nil, fmt.Errorf("deposit of %d: %w", e.Amount, ErrBadAmount)
		}
		a.Balance += e.Amount
		return []any{Deposited{Amount: e.Amount, Balance: a.Balance}}, nil
	case Withdraw:
		if e.Amount <= 0 {
			return nil, fmt.Errorf("withdrawal of %d: %w", e.Amount, ErrBadAmount)
		}
		if e.Amount > a.Balance {
			return []any{Refused{Asked: "withdrawal", Amount: e.Amount, Balance: a.Balance}}, nil
		}
		a.Balance -= e.Amount
		return []any{Withdrawn{Amount: e.Amount, Balance: a.Balance}}, nil
	case Transfer:
		if e.Amount <= 0 {
			return nil, fmt.Errorf("transfer of %d: %w", e.Amount, ErrBadAmount)
		}
		if e.Amount > a.Balance {
			return []any{Refused{Asked: "transfer to " + e.To, Amount: e.Amount, Balance: a.Balance}}, nil
		}
		a.Balance -= e.Amount
		return []any{TransferSent{To: e.To, Amount: e.Amount, Balance: a.Balance}}, nil
	case Credit:
		if a.Credited[e.Transfer] {
			return nil, fmt.Errorf("credit of transfer %s: %w", e.Transfer, ErrCreditedAlready)
		}
		if a.Credited == nil {
			a.Credited = map[string]bool{}
		}
		a.Credited[e.Transfer] = true
		a.Balance += e.Amount
		return []any{Credited{Transfer: e.Transfer, From: e.From, Amount: e.Amount, Balance: a.Balance}}, nil
	}
	return nil, fmt.Errorf("account: unexpected event %T", event)
}

// newAccounts returns the account machine on store.
func newAccounts(store *kvcore.Store) (*kvstate.Machine[Account], error) {
	return kvstate.NewMachine(store, (*Account).apply,
		kvstate.WithKind("account"),
		kvstate.Events(
			kvstate.Event[Deposit](), kvstate.Event[Withdraw](), kvstate.Event[Transfer](), kvstate.Event[Credit](),
			kvstate.Event[Deposited](), kvstate.Event[Withdrawn](), kvstate.Event[Refused](),
			kvstate.Event[TransferSent](), kvstate.Event[Credited](),
		))
}

// demo is what runs without arguments.
var demo = [][]string{
	{"deposit", "alice", "100"},
	{"withdraw", "alice", "30"},
	{"withdraw", "alice", "500"},
	{"deposit", "bob", "0"},
	{"transfer", "alice", "bob", "50"},
	{"balance", "alice"},
	{"balance", "bob"},
	{"history", "bob"},
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bankaccount", flag.ContinueOnError)
	dbPath := fs.String("db", "", "SQLite database file (default: a temporary file removed at exit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	commands := demo
	if fs.NArg() > 0 {
		commands = [][]string{fs.Args()}
	}
	db, closeDB, err := exampledb.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer closeDB()
	store, err := db.Store()
	if err != nil {
		return err
	}
	defer store.Close()
	accounts, err := newAccounts(store)
	if err != nil {
		return err
	}
	stream, err := kvstream.New(db)
	if err != nil {
		return err
	}
	b := &bank{accounts: accounts, stream: stream, out: stdout}
	for _, cmd := range commands {
		if err := b.do(ctx, cmd); err != nil {
			return err
		}
	}
	return nil
}

// bank runs commands against the accounts.
type bank struct {
	accounts *kvstate.Machine[Account]
	stream   *kvstream.Stream
	out      io.Writer
}

// do runs one command. A command the transition rejects is printed, not
// returned: it is the bank's answer.
func (b *bank) do(ctx context.Context, cmd []string) error {
	var (
		id    string
		event any
	)
	switch {
	case len(cmd) == 3 && cmd[0] == "deposit":
		amount, err := parseAmount(cmd[2])
		if err != nil {
			return err
		}
		id, event = cmd[1], Deposit{Amount: amount}
	case len(cmd) == 3 && cmd[0] == "withdraw":
		amount, err := parseAmount(cmd[2])
		if err != nil {
			return err
		}
		id, event = cmd[1], Withdraw{Amount: amount}
	case len(cmd) == 4 && cmd[0] == "transfer":
		amount, err := parseAmount(cmd[3])
		if err != nil {
			return err
		}
		if cmd[1] == cmd[2] {
			return fmt.Errorf("transfer from %s to itself", cmd[1])
		}
		// Check the receiver's id first: no money may leave for an
		// account that cannot exist.
		if _, err := b.accounts.Load(ctx, cmd[2]); err != nil {
			return err
		}
		id, event = cmd[1], Transfer{To: cmd[2], Amount: amount}
	case len(cmd) == 2 && cmd[0] == "balance":
		acc, err := b.accounts.Load(ctx, cmd[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(b.out, "%s: balance %d, version %d\n", cmd[1], acc.State().Balance, acc.Version())
		return nil
	case len(cmd) == 2 && cmd[0] == "history":
		return b.history(ctx, cmd[1])
	default:
		return fmt.Errorf("unknown command %q: want deposit ID AMOUNT, withdraw ID AMOUNT, transfer FROM TO AMOUNT, balance ID or history ID", cmd)
	}
	acc, err := b.accounts.Load(ctx, id)
	if err != nil {
		return err
	}
	out, err := acc.Process(ctx, event)
	if errors.Is(err, ErrBadAmount) {
		fmt.Fprintf(b.out, "%s: rejected, nothing recorded: %v\n", id, err)
		return nil
	}
	if err != nil {
		return err
	}
	for _, ev := range out {
		fmt.Fprintf(b.out, "%s: %s\n", id, describe(ev.Value))
	}
	return b.settleTransfers(ctx)
}

// settleTransfers credits the receivers of the transfers sent so far: a
// kvstream consumer follows the TransferSent events (by their record type)
// and commits its position after crediting each batch, so a crash between
// the two delivers a batch again, and the transition rejects each credit
// made already.
func (b *bank) settleTransfers(ctx context.Context) error {
	c, err := b.stream.Consumer("bank-transfers", kvstream.Commit(kvstream.CommitNone),
		kvstream.Filters(kvstream.OfType("TransferSent")))
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	for {
		recs, err := c.Get(ctx) // the next batch, not yet committed
		if err != nil || len(recs) == 0 {
			return err
		}
		for _, r := range recs {
			ref, ok := kvstate.ParseEventKey(r.Key)
			if !ok || ref.Kind != b.accounts.Kind() || r.Action != kvstream.ActionCreate {
				continue // an event is appended once; a delete or touch of its record carries no event
			}
			v, err := b.accounts.DecodeEvent(r.Type, r.Value)
			if err != nil {
				return err
			}
			sent := v.(TransferSent)
			to, err := b.accounts.Load(ctx, sent.To)
			if err != nil {
				return err
			}
			// The transfer's id is the sender and the event's number.
			credit := Credit{Transfer: ref.ID + "/" + strconv.FormatInt(ref.Seq, 10), From: ref.ID, Amount: sent.Amount}
			out, err := to.Process(ctx, credit)
			if errors.Is(err, ErrCreditedAlready) {
				continue // delivered again: nothing to do
			}
			if err != nil {
				return err
			}
			for _, ev := range out {
				fmt.Fprintf(b.out, "%s: %s\n", sent.To, describe(ev.Value))
			}
		}
		if err := c.Commit(ctx, recs[len(recs)-1].Seq); err != nil {
			return err
		}
	}
}

// history prints an account's events in order.
func (b *bank) history(ctx context.Context, id string) error {
	fmt.Fprintf(b.out, "history of %s:\n", id)
	for ev, err := range b.accounts.History(ctx, id) {
		if err != nil {
			return err
		}
		dir := "in "
		if ev.Outbound {
			dir = "out"
		}
		fmt.Fprintf(b.out, "  %d %s %s %+v\n", ev.Seq, dir, ev.Name, ev.Value)
	}
	return nil
}

func parseAmount(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q is not a whole number", s)
	}
	return n, nil
}

// describe says what an outbound event means.
func describe(v any) string {
	switch e := v.(type) {
	case Deposited:
		return fmt.Sprintf("deposited %d, balance %d", e.Amount, e.Balance)
	case Withdrawn:
		return fmt.Sprintf("withdrew %d, balance %d", e.Amount, e.Balance)
	case Refused:
		return fmt.Sprintf("refused: %s of %d, balance %d", e.Asked, e.Amount, e.Balance)
	case TransferSent:
		return fmt.Sprintf("sent %d to %s, balance %d", e.Amount, e.To, e.Balance)
	case Credited:
		return fmt.Sprintf("received %d from %s (transfer %s), balance %d", e.Amount, e.From, e.Transfer, e.Balance)
	}
	return fmt.Sprintf("%+v", v)
}
