package sqlitekv_test

// Runnable examples of kvstream (the change stream and named consumers).
// They live in the SQLite backend's tests because kvstream's module depends
// on no backend.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/kvsuite/kv/kvstream"
)

// Read the stream from any position, filtered by record type or namespace;
// trimming drops old entries, and reading a trimmed position says where the
// stream now starts.
func Example_streamRead() {
	ctx := context.Background()
	db, store := openExample(ctx)
	defer db.Close()
	defer store.Close()
	stream, err := kvstream.New(db)
	if err != nil {
		log.Fatal(err)
	}

	type Order struct{ Item string }
	type Invoice struct{ Total int }
	_ = store.Put(ctx, "order/1", -1, Order{"book"})
	_ = store.Put(ctx, "invoice/1", -1, Invoice{12})
	_ = store.Put(ctx, "order/1", -1, Order{"lamp"})
	_, _ = store.Delete(ctx, "order/1")

	recs, _ := stream.Read(ctx, 0, 100, kvstream.OfType("Order")) // from the start
	for _, r := range recs {
		fmt.Println(r.Seq, r.Action, r.Key, r.Version, r.Type)
	}

	upTo, _ := stream.Trim(ctx, 2) // no consumer needs seq 1 and 2
	first, last, _ := stream.Bounds(ctx)
	fmt.Println("trimmed to", upTo, "- bounds", first, last)

	_, err = stream.Read(ctx, 1, 100)
	var te *kvstream.TrimmedError
	fmt.Println(errors.Is(err, kvstream.ErrTrimmed), errors.As(err, &te) && te.Start == first)
	// Output:
	// 1 create order/1 1 Order
	// 3 update order/1 2 Order
	// 4 delete order/1 2 Order
	// trimmed to 2 - bounds 3 4
	// true true
}

// runUntil runs c with handle until c has committed seq (or handle fails).
func runUntil(ctx context.Context, c *kvstream.Consumer, seq int64, handle kvstream.Handler) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for c.Position() < seq && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		stop()
	}()
	return c.Run(ctx, handle)
}

// A consumer's Run calls a handler for each change in commit order and
// commits its durable position (here after each record). Delivery is at
// least once: a record whose handler failed is delivered again.
func Example_consumerRun() {
	ctx := context.Background()
	db, store := openExample(ctx)
	defer db.Close()
	defer store.Close()
	stream, err := kvstream.New(db)
	if err != nil {
		log.Fatal(err)
	}
	for _, to := range []string{"ann", "ben", "cat"} {
		_ = store.Put(ctx, "signup/"+to, 0, map[string]string{"email": to + "@example.com"})
	}

	errMailDown := errors.New("mail server down")
	failOnce := true
	welcome := func(ctx context.Context, r kvstream.Record) error {
		if r.Key == "signup/cat" && failOnce {
			failOnce = false
			fmt.Println("failed", r.Seq, r.Key)
			return errMailDown // Run stops; seq 3 is not committed
		}
		fmt.Println("welcomed", r.Seq, r.Key)
		return nil
	}

	c, err := stream.Consumer("welcome-mailer", kvstream.Commit(kvstream.CommitAll))
	if err != nil {
		log.Fatal(err)
	}
	err = c.Run(ctx, welcome)
	fmt.Println("run ended:", errors.Is(err, errMailDown))
	st, _ := stream.ConsumerStatus(ctx, "welcome-mailer")
	fmt.Println("position", st.Position, "lag", st.Lag)

	// Another run (or another process) resumes after the committed position.
	_ = runUntil(ctx, c, 3, welcome)
	st, _ = stream.ConsumerStatus(ctx, "welcome-mailer")
	fmt.Println("position", st.Position, "lag", st.Lag)
	// Output:
	// welcomed 1 signup/ann
	// welcomed 2 signup/ben
	// failed 3 signup/cat
	// run ended: true
	// position 2 lag 1
	// welcomed 3 signup/cat
	// position 3 lag 0
}

// A consumer with a filter gets only the records it asks for, and its
// position moves past the entries the filter left out too (Batch.Through),
// so it does not lag behind them nor hold back trimming.
func Example_filteredConsumer() {
	ctx := context.Background()
	db, store := openExample(ctx)
	defer db.Close()
	defer store.Close()
	stream, err := kvstream.New(db)
	if err != nil {
		log.Fatal(err)
	}
	type Order struct{ Item string }
	type Visit struct{ Page string }
	_ = store.Put(ctx, "order/1", -1, Order{"book"})
	for _, page := range []string{"/", "/help", "/about"} {
		_ = store.Put(ctx, "visit"+page, -1, Visit{page})
	}

	orders, err := stream.Consumer("billing", kvstream.Filters(kvstream.OfType("Order")))
	if err != nil {
		log.Fatal(err)
	}
	b, _ := orders.GetBatch(ctx) // commits (batch mode) up to b.Through
	for _, r := range b.Records {
		fmt.Println(r.Seq, r.Key)
	}
	fmt.Println("through", b.Through)
	st, _ := stream.ConsumerStatus(ctx, "billing")
	fmt.Println("position", st.Position, "lag", st.Lag)
	upTo, _ := stream.Trim(ctx, 4)
	fmt.Println("trimmed to", upTo)
	// Output:
	// 1 order/1
	// through 4
	// position 4 lag 0
	// trimmed to 4
}
