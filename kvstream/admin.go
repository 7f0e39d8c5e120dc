package kvstream

import (
	"context"
	"fmt"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream/driver"
)

// ConsumerStatus is a consumer's durable state, its lag and its lease.
type ConsumerStatus struct {
	Name     string       `json:"name"`
	Position int64        `json:"position"`
	Updated  time.Time    `json:"updated"`
	Lag      int64        `json:"lag"` // entries after Position (by seq)
	Held     bool         `json:"held"`
	Lease    kvlock.Lease `json:"lease"`
}

func (s *Stream) status(ctx context.Context, c driver.Consumer, last int64) (ConsumerStatus, error) {
	le, held, err := s.locker.Status(ctx, LeasePrefix+c.Name)
	if err != nil {
		return ConsumerStatus{}, err
	}
	return ConsumerStatus{Name: c.Name, Position: c.Position, Updated: c.Updated.UTC(),
		Lag: max(0, last-c.Position), Held: held, Lease: le}, nil
}

// ConsumerStatus returns a consumer's status, or ErrNotFound.
func (s *Stream) ConsumerStatus(ctx context.Context, name string) (ConsumerStatus, error) {
	if err := kvcore.ValidateName("consumer name", name); err != nil {
		return ConsumerStatus{}, err
	}
	c, ok, err := s.d.Consumer(ctx, name)
	if err != nil {
		return ConsumerStatus{}, fmt.Errorf("kv consumer %q: %w", name, err)
	}
	if !ok {
		return ConsumerStatus{}, fmt.Errorf("kv consumer %q: %w", name, ErrNotFound)
	}
	_, last, err := s.d.Bounds(ctx)
	if err != nil {
		return ConsumerStatus{}, fmt.Errorf("kv consumer %q: %w", name, err)
	}
	return s.status(ctx, c, last)
}

// Consumers returns the status of every consumer, ordered by name.
func (s *Stream) Consumers(ctx context.Context) ([]ConsumerStatus, error) {
	cs, err := s.d.Consumers(ctx)
	if err != nil {
		return nil, fmt.Errorf("kv consumers: %w", err)
	}
	_, last, err := s.d.Bounds(ctx)
	if err != nil {
		return nil, fmt.Errorf("kv consumers: %w", err)
	}
	out := make([]ConsumerStatus, 0, len(cs))
	for _, c := range cs {
		st, err := s.status(ctx, c, last)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// SetPosition sets a consumer's position as an administrator, creating the
// consumer if needed. It is not fenced: use Consumer.Commit from a reader.
func (s *Stream) SetPosition(ctx context.Context, name string, seq int64) error {
	if err := kvcore.ValidateName("consumer name", name); err != nil {
		return err
	}
	if seq < 0 {
		return fmt.Errorf("%w: seq %d is negative", ErrInvalidArgument, seq)
	}
	now, err := s.storedNow()
	if err != nil {
		return err
	}
	if _, err := s.d.CreateConsumer(ctx, name, seq, now); err != nil {
		return fmt.Errorf("kv consumer %q: %w", name, err)
	}
	if err := s.d.Commit(ctx, name, seq, nil, now); err != nil {
		return fmt.Errorf("kv consumer %q: %w", name, err)
	}
	return nil
}

// DeleteConsumer deletes a consumer's position and reports whether it
// existed. An instance still running under that name recreates it at the
// start of the stream on its next lease take-over.
func (s *Stream) DeleteConsumer(ctx context.Context, name string) (bool, error) {
	if err := kvcore.ValidateName("consumer name", name); err != nil {
		return false, err
	}
	ok, err := s.d.DeleteConsumer(ctx, name)
	if err != nil {
		return false, fmt.Errorf("kv consumer %q: %w", name, err)
	}
	return ok, nil
}
