package faults_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvstream"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// consumeEvent is one thing the consumer did, in order: a Run started, a
// record was delivered, or a commit was acknowledged.
type consumeEvent struct {
	kind    byte // 'r' run started, 'd' delivered, 'c' commit acknowledged
	seq     int64
	key     string
	version int64
}

// consumeLog is the consumer's history.
type consumeLog struct {
	mu     sync.Mutex
	events []consumeEvent
	max    int64 // the highest seq delivered
	errs   errorLog
}

func (l *consumeLog) add(e consumeEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	if e.kind == 'd' && e.seq > l.max {
		l.max = e.seq
	}
}

// maxSeq returns the highest seq delivered.
func (l *consumeLog) maxSeq() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.max
}

// committingStream logs the commits the backend acknowledged and passes
// the stream's notifications on.
type committingStream struct {
	streamdriver.Stream
	n   streamdriver.Notifier
	log *consumeLog
}

// Commit sets the consumer's position and logs it if acknowledged.
func (s committingStream) Commit(ctx context.Context, name string, pos int64, fence *coredriver.Fence, now time.Time) error {
	err := s.Stream.Commit(ctx, name, pos, fence, now)
	if err == nil {
		s.log.add(consumeEvent{kind: 'c', seq: pos})
	}
	return err
}

// Subscribe passes on the stream's notifications.
func (s committingStream) Subscribe(ctx context.Context) (<-chan struct{}, error) {
	return s.n.Subscribe(ctx)
}

// runConsumer runs c (commit mode all) until ctx ends, logging every
// delivery, and starts it again whenever Run returns an error (the fault
// ended it).
func runConsumer(ctx context.Context, c *kvstream.Consumer, log *consumeLog) {
	for ctx.Err() == nil {
		log.add(consumeEvent{kind: 'r'})
		err := c.Run(ctx, func(_ context.Context, r kvstream.Record) error {
			log.add(consumeEvent{kind: 'd', seq: r.Seq, key: r.Key, version: r.Version})
			return nil
		})
		if err != nil {
			log.errs.add("consumer", err)
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// consumeReport is what checkConsumer found.
type consumeReport struct {
	delivered   int // deliveries, re-deliveries included
	distinct    int // entries delivered at least once
	redelivered int // deliveries of an entry already delivered
	runs        int // Run calls (1 + restarts after errors)
}

// checkConsumer checks the consumer's history against the stream's
// entries 1..len(want) (want[i] is entry i+1): within a Run, deliveries
// follow the stream with no gap; a Run starts after the last acknowledged
// commit (never re-delivering committed entries) and at most one past the
// highest entry delivered (never skipping); every entry was delivered with
// its key and version.
func checkConsumer(events []consumeEvent, want []kvstream.Record) (consumeReport, error) {
	var rep consumeReport
	var acked, maxSeen, prev int64
	first := false
	for i, e := range events {
		switch e.kind {
		case 'r':
			rep.runs++
			first = true
		case 'c':
			acked = e.seq
		case 'd':
			rep.delivered++
			switch {
			case e.seq < 1 || e.seq > int64(len(want)):
				return rep, fmt.Errorf("event %d: delivered seq %d outside the stream 1..%d", i, e.seq, len(want))
			case first && e.seq <= acked:
				return rep, fmt.Errorf("event %d: run %d started at seq %d, but seq %d was committed (acknowledged)", i, rep.runs, e.seq, acked)
			case first && e.seq > maxSeen+1:
				return rep, fmt.Errorf("event %d: run %d started at seq %d, skipping %d..%d", i, rep.runs, e.seq, maxSeen+1, e.seq-1)
			case !first && e.seq != prev+1:
				return rep, fmt.Errorf("event %d: seq %d delivered after %d in the same run", i, e.seq, prev)
			}
			if w := want[e.seq-1]; w.Seq != e.seq || w.Key != e.key || w.Version != e.version {
				return rep, fmt.Errorf("event %d: seq %d delivered as %s v%d, the stream has seq %d %s v%d", i, e.seq, e.key, e.version, w.Seq, w.Key, w.Version)
			}
			if e.seq <= maxSeen {
				rep.redelivered++
			}
			maxSeen = max(maxSeen, e.seq)
			prev, first = e.seq, false
		}
	}
	rep.distinct = int(maxSeen)
	if maxSeen != int64(len(want)) {
		return rep, fmt.Errorf("the consumer reached seq %d of %d", maxSeen, len(want))
	}
	return rep, nil
}

// readStream returns every entry of the stream, in order, checking that
// the seqs are 1, 2, 3, ...
func readStream(ctx context.Context, s *kvstream.Stream) ([]kvstream.Record, error) {
	var all []kvstream.Record
	for {
		recs, err := s.Read(ctx, int64(len(all))+1, kvstream.MaxLimit)
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			return all, nil
		}
		for _, r := range recs {
			if r.Seq != int64(len(all))+1 {
				return nil, fmt.Errorf("stream entry %d has seq %d", len(all)+1, r.Seq)
			}
			all = append(all, r)
		}
	}
}
