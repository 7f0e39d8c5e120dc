package kvnats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/kvstream"
)

// errAckLost: no acknowledgement, error or timeout came for a message
// (a backstop: the async publish timeout resolves every message first).
var errAckLost = errors.New("no acknowledgement from JetStream")

// publish is the consumer's batch handler: it publishes recs in seq order
// and returns how many of them, from the first, JetStream acknowledged. A
// failure is retried from the first message not acknowledged (those after
// it that JetStream stored are dropped as duplicates) until it succeeds,
// fails permanently, or ctx ends (a shutdown or the lost lease). An entry
// that cannot be published ends the batch before it.
func (p *Publisher) publish(ctx context.Context, recs []kvstream.Record) (int, error) {
	msgs := make([]*nats.Msg, 0, len(recs))
	var stop error
	for _, r := range recs {
		m := message(p.id, p.prefix, p.target, r)
		if err := publishable(m, p.maxMsgSize); err != nil {
			stop = fmt.Errorf("kvnats: publish key %q (namespace %q): %w", r.Key, r.Namespace, err)
			break
		}
		msgs = append(msgs, m)
	}
	done, dups, failed := 0, 0, false
	err := p.retry(ctx, "publish", func() error {
		if failed {
			// The stream may be what failed: missing, re-created,
			// another one found.
			if err := p.checkStream(ctx); err != nil {
				return err
			}
			for _, m := range msgs[done:] {
				m.Header.Set(jetstream.ExpectedStreamHeader, p.target)
			}
		}
		n, d, err := p.flight(msgs[done:])
		done, dups = done+n, dups+d
		if err != nil {
			failed = true
			return p.refusal(recs[done], msgs[done], err)
		}
		return nil
	})
	if done > 0 {
		first, last := recs[0].Seq, recs[done-1].Seq
		if dups > 0 {
			p.log.InfoContext(ctx, "kvnats: JetStream dropped entries it already had (published before a crash, a lost acknowledgement or a NATS restart)",
				"duplicates", dups, "first", first, "last", last)
		}
		p.log.DebugContext(ctx, "kvnats: published a batch", "entries", done, "first", first, "last", last, "duplicates", dups)
	}
	if err != nil {
		return done, err
	}
	return done, stop
}

// flight publishes msgs at once and waits for JetStream's answers. It
// returns how many, from the first, JetStream acknowledged (dups of them
// as duplicates it dropped) and, if not all, why the next was not.
func (p *Publisher) flight(msgs []*nats.Msg) (acked, dups int, err error) {
	futs := make([]jetstream.PubAckFuture, 0, len(msgs))
	var sendErr error
	for _, m := range msgs {
		// No retry inside the client: it would send the message again
		// after the ones behind it.
		f, err := p.js.PublishMsgAsync(m, jetstream.WithRetryAttempts(0))
		if err != nil {
			sendErr = err
			break
		}
		futs = append(futs, f)
	}
	backstop := time.NewTimer(2 * p.ackWait)
	defer backstop.Stop()
	failed := -1 // the first message not acknowledged
	for i, f := range futs {
		select {
		case ack := <-f.Ok():
			switch {
			case failed < 0:
				acked++
				if ack.Duplicate {
					dups++
				}
			case !ack.Duplicate:
				p.log.Error("kvnats: JetStream stored an entry after one it did not acknowledge: its stream is out of seq order there",
					"stored", msgs[i].Header.Get(HeaderSeq), "not_acknowledged", msgs[failed].Header.Get(HeaderSeq), "error", err)
			}
		case ferr := <-f.Err():
			if failed < 0 {
				failed, err = i, ferr
			}
		case <-backstop.C:
			if failed < 0 {
				err = errAckLost
			}
			return acked, dups, err
		}
		backstop.Reset(2 * p.ackWait)
	}
	if failed < 0 {
		err = sendErr
	}
	return acked, dups, err
}
