// Command natspush publishes kv's change stream to NATS JetStream and reads
// it back from there.
//
// Each run writes a few changes (orders created, then shipped), then a
// kvnats.Publisher publishes every change it has not published yet into a
// JetStream stream (created if missing), while a JetStream consumer prints
// each message as it arrives: its subject, which kvnats.ParseSubject turns
// back into the key, and its headers and payload. The publisher's position
// is durable: run it again on the same database and it goes on after the
// last change JetStream acknowledged; a change published again after a
// crash is dropped by JetStream as a duplicate, so the stream holds each
// once.
//
//	go run ./examples/natspush -db push.db            # 5 changes, prints seq 1-5
//	go run ./examples/natspush -db push.db            # 5 more, prints seq 6-10
//	nats sub 'kvexample.>'                            # or watch with the NATS CLI
//
// It needs a NATS server with JetStream (nats-server -js), by default at
// nats://127.0.0.1:4222 (-nats). Without -db it uses a temporary SQLite
// file, removed at exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/examples/internal/exampledb"
	"github.com/kvsuite/kv/examples/internal/orders"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvnats"
	"github.com/kvsuite/kv/kvstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "natspush:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	db, nats, prefix, stream, consumer string
	writes                             int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("natspush", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.db, "db", "", "SQLite database file (default: a temporary file removed at exit)")
	fs.StringVar(&c.nats, "nats", "nats://127.0.0.1:4222", "the NATS server, with JetStream")
	fs.StringVar(&c.prefix, "prefix", "kvexample", "the subject prefix")
	fs.StringVar(&c.stream, "stream", "KV_EXAMPLE", "the JetStream stream (created for <prefix>.> if missing)")
	fs.StringVar(&c.consumer, "consumer", "natspush", "the publisher's consumer name (its position is kept under it)")
	fs.IntVar(&c.writes, "writes", 5, "changes to write before publishing")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.writes < 0:
		return c, fmt.Errorf("-writes %d is negative", c.writes)
	}
	if err := kvnats.ValidatePrefix(c.prefix); err != nil {
		return c, err
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
	if err := orders.Write(ctx, store, c.writes); err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	stream, err := kvstream.New(db, kvstream.WithLogger(quiet))
	if err != nil {
		return err
	}

	// The connection kvnats needs: it never keeps messages while it
	// reconnects, so none is overtaken by later ones.
	nc, err := kvnats.Connect(c.nats)
	if err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	defer nc.Close()
	if _, err := kvnats.CreateStream(ctx, nc, c.stream, c.prefix, 0); err != nil {
		return err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	s, err := js.Stream(ctx, c.stream)
	if err != nil {
		return err
	}
	// Read what this run publishes: the messages after the stream's last.
	sub, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: s.CachedInfo().State.LastSeq + 1})
	if err != nil {
		return err
	}
	last, err := stream.Seq(ctx)
	if err != nil {
		return err
	}
	from := int64(0)
	if st, err := stream.ConsumerStatus(ctx, c.consumer); err == nil {
		from = st.Position
	} else if !errors.Is(err, kvstream.ErrNotFound) {
		return err
	}
	if from < last {
		fmt.Fprintf(stdout, "publishing seq %d to %d into JetStream stream %s (subjects %s.>)\n", from+1, last, c.stream, c.prefix)
	} else {
		fmt.Fprintf(stdout, "nothing to publish after seq %d\n", from)
	}

	p, err := kvnats.New(stream, nc, c.consumer, kvnats.SubjectPrefix(c.prefix), kvnats.JetStreamStream(c.stream),
		kvnats.Logger(quiet))
	if err != nil {
		return err
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }() // until runCtx ends

	for seq := from + 1; seq <= last; seq++ {
		msg, err := next(ctx, sub)
		if err != nil {
			stopRun()
			return errors.Join(err, <-done)
		}
		ns, key, err := kvnats.ParseSubject(c.prefix, msg.Subject())
		if err != nil {
			return err
		}
		h := msg.Headers()
		fmt.Fprintf(stdout, "%s: seq %s %s namespace %q key %q v%s %s\n", msg.Subject(), h.Get(kvnats.HeaderSeq),
			h.Get(kvnats.HeaderAction), ns, key, h.Get(kvnats.HeaderVersion), msg.Data())
	}
	// Every message arrived: stop once the publisher has committed them.
	for {
		st, err := stream.ConsumerStatus(ctx, c.consumer)
		if err != nil && !errors.Is(err, kvstream.ErrNotFound) {
			return err
		}
		if st.Position >= last {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	stopRun()
	if err := <-done; err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published up to seq %d; JetStream stream %s holds %d messages\n", last, c.stream, info.State.Msgs)
	return nil
}

// next returns the next message sub delivers, waiting at most a minute.
func next(ctx context.Context, sub jetstream.Consumer) (jetstream.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		msgs, err := sub.Fetch(1, jetstream.FetchContext(ctx))
		if err != nil {
			return nil, err
		}
		for m := range msgs.Messages() {
			return m, nil
		}
		if err := msgs.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no message from JetStream: %w", ctx.Err())
		}
	}
}
