package kvnats

import (
	"context"

	"github.com/kvsuite/kv/kvstream"
)

// Prepare is prepare, for the tests of package kvnats_test.
func (p *Publisher) Prepare(ctx context.Context) error { return p.prepare(ctx) }

// Publish is publish, the consumer's batch handler, for the tests of
// package kvnats_test.
func (p *Publisher) Publish(ctx context.Context, recs []kvstream.Record) (int, error) {
	return p.publish(ctx, recs)
}
