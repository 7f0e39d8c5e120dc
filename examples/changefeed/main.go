// Command changefeed follows kv's change stream with a named consumer.
//
// Each run writes a few changes (orders created, then shipped), then a
// consumer prints every change it has not handled yet, in commit order,
// committing its position after each one. The position is durable: run it
// again on the same database and it resumes after the last change it
// committed. A consumer holds a lease, so two instances of the same consumer
// never read at once; a new consumer name starts at the beginning.
//
//	go run ./examples/changefeed -db feed.db               # 5 changes, prints seq 1-5
//	go run ./examples/changefeed -db feed.db               # 5 more, prints only seq 6-10
//	go run ./examples/changefeed -db feed.db -consumer audit -writes 0   # all 10
//	go run ./examples/changefeed -db feed.db -writes 0 -follow 1m
//	    # meanwhile, in another terminal (seen within a second: the consumer polls):
//	    echo '{"item":"pen"}' | go run ./cli/cmd/kv --connection feed.db put order/x
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
	"syscall"
	"time"

	"github.com/kvsuite/kv/examples/internal/exampledb"
	"github.com/kvsuite/kv/examples/internal/orders"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "changefeed:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	db       string
	writes   int
	consumer string
	follow   time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("changefeed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.db, "db", "", "SQLite database file (default: a temporary file removed at exit)")
	fs.IntVar(&c.writes, "writes", 5, "changes to write before reading")
	fs.StringVar(&c.consumer, "consumer", "printer", "the consumer's name (its position is kept under it)")
	fs.DurationVar(&c.follow, "follow", 0, "keep following new changes for this long (0: stop once caught up)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.writes < 0:
		return c, fmt.Errorf("-writes %d is negative", c.writes)
	case c.follow < 0:
		return c, fmt.Errorf("-follow %v is negative", c.follow)
	}
	return c, kvcore.ValidateName("-consumer", c.consumer)
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	c, err := parseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	db, closeDB, err := exampledb.Open(ctx, c.db)
	if err != nil {
		return err
	}
	defer closeDB()
	store, err := db.Store()
	if err != nil {
		return err
	}
	defer store.Close()
	// An idle consumer wakes at once for this process's writes (SQLite's
	// in-process signal) and polls for other processes' writes, with waits
	// growing up to the max poll: 2s by default on SQLite (30s on
	// PostgreSQL, whose notifications reach every process), one second here.
	stream, err := kvstream.New(db, kvstream.WithMaxPoll(time.Second))
	if err != nil {
		return err
	}

	if err := orders.Write(ctx, store, c.writes); err != nil {
		return err
	}
	if st, err := stream.ConsumerStatus(ctx, c.consumer); errors.Is(err, kvstream.ErrNotFound) {
		fmt.Fprintf(stdout, "consumer %s is new: reading from the start\n", c.consumer)
	} else if err != nil {
		return err
	} else {
		fmt.Fprintf(stdout, "consumer %s resumes after seq %d\n", c.consumer, st.Position)
	}

	consumer, err := stream.Consumer(c.consumer, kvstream.Commit(kvstream.CommitAll))
	if err != nil {
		return err
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	if c.follow > 0 {
		runCtx, stopRun = context.WithTimeout(ctx, c.follow)
		defer stopRun()
	} else {
		// Stop once everything written so far has been handled and committed.
		last, err := stream.Seq(ctx)
		if err != nil {
			return err
		}
		go stopWhenCommitted(runCtx, stopRun, consumer, last)
	}
	// Run holds the consumer's lease, reads in batches, calls the handler
	// for each change in commit order and commits after each (CommitAll).
	// It waits for new changes when idle until runCtx ends.
	err = consumer.Run(runCtx, func(ctx context.Context, r kvstream.Record) error {
		value := string(r.Value)
		switch r.Action {
		case kvstream.ActionDelete:
			value = "(deleted)"
		case kvstream.ActionTouch:
			value = "(expiry changed)"
		}
		_, err := fmt.Fprintf(stdout, "seq %d: %s %s v%d %s\n", r.Seq, r.Action, r.Key, r.Version, value)
		return err // an error stops Run; the change is delivered again next time
	})
	if err != nil {
		return err
	}
	st, err := stream.ConsumerStatus(context.WithoutCancel(ctx), c.consumer)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "consumer %s committed seq %d; %d changes after it\n", st.Name, st.Position, st.Lag)
	return nil
}

// stopWhenCommitted calls stop once consumer has committed seq last.
func stopWhenCommitted(ctx context.Context, stop context.CancelFunc, consumer *kvstream.Consumer, last int64) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for consumer.Position() < last {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
	stop()
}
