package kvnats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
)

// IdentityLease is the lease that keeps a database's stream identity: its
// owner is the identity. kvnats takes it once, for a hundred years, and
// never releases it; kv status lists it among the leases held.
const IdentityLease = "kvnats/stream-id"

// identityHold is how long the identity lease is taken for: for good.
const identityHold = 100 * 365 * 24 * time.Hour

// Identity returns the identity of the stream of s's database that
// Publishers use in message ids (see MsgID): 32 random hex digits, made
// and stored in the database (as the lease IdentityLease) the first time
// it is asked for, then the same for every process and after restarts.
// Two databases get different identities, so they can publish into one
// JetStream stream without one's message ids hiding the other's. A copy
// of a database (a copied SQLite file, a restored backup) keeps the
// original's: give a copy that publishes beside the original its own
// with the Source option.
func Identity(ctx context.Context, s *kvstream.Stream) (string, error) {
	if s == nil {
		return "", fmt.Errorf("%w: nil stream", ErrInvalidArgument)
	}
	return identity(ctx, s.Locker())
}

func identity(ctx context.Context, l *kvlock.Locker) (string, error) {
	le, held, err := l.Status(ctx, IdentityLease)
	if err != nil {
		return "", fmt.Errorf("kvnats: stream identity: %w", err)
	}
	if held {
		return le.Owner, nil
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("kvnats: stream identity: %w", err)
	}
	// Another process may take it first: then its identity is the one.
	le, _, err = l.Acquire(ctx, IdentityLease, hex.EncodeToString(b), identityHold)
	if err != nil {
		return "", fmt.Errorf("kvnats: stream identity: %w", err)
	}
	return le.Owner, nil
}

// ValidateSource reports whether id can be a stream identity (see
// Source): 1 to 64 bytes of A-Z, a-z, 0-9, '-' and '_'. A bad one is an
// error wrapping ErrInvalidArgument.
func ValidateSource(id string) error {
	if id == "" {
		return fmt.Errorf("%w: source is empty", ErrInvalidArgument)
	}
	if len(id) > 64 {
		return fmt.Errorf("%w: source %q is longer than 64 bytes", ErrInvalidArgument, id[:64]+"...")
	}
	for i := 0; i < len(id); i++ {
		if !tokenByte(id[i]) {
			return fmt.Errorf("%w: source %q: %q is not allowed (only A-Z, a-z, 0-9, '-' and '_')", ErrInvalidArgument, id, id[i])
		}
	}
	return nil
}
