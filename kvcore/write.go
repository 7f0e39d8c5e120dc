package kvcore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
)

// Put writes value at key if version holds (see the Put mutation).
func (s *Store) Put(ctx context.Context, key string, version int64, value any, opts ...WriteOption) error {
	_, err := s.mutate(ctx, "put", []Mutation{Put(key, version, value, opts...)})
	return err
}

// Patch merges patch into key's value (RFC 7396) if version holds.
func (s *Store) Patch(ctx context.Context, key string, version int64, patch any, opts ...WriteOption) error {
	_, err := s.mutate(ctx, "patch", []Mutation{Patch(key, version, patch, opts...)})
	return err
}

// Delete deletes keys in one transaction and returns how many existed.
func (s *Store) Delete(ctx context.Context, keys ...string) (int, error) {
	ms := make([]Mutation, len(keys))
	for i, k := range keys {
		ms[i] = Delete(k)
	}
	n, err := s.mutate(ctx, "delete", ms)
	return sum(n), err
}

// DeleteVersion deletes key only if it is at version and reports whether it
// deleted it. A mismatch is ErrVersionMismatch.
func (s *Store) DeleteVersion(ctx context.Context, key string, version int64) (bool, error) {
	n, err := s.mutate(ctx, "delete", []Mutation{DeleteVersion(key, version)})
	return sum(n) == 1, err
}

// DeletePrefix deletes records whose keys start with prefix (see the
// DeletePrefix mutation) and returns how many it deleted.
func (s *Store) DeletePrefix(ctx context.Context, prefix string, offset, limit int) (int, error) {
	n, err := s.mutate(ctx, "delete prefix", []Mutation{DeletePrefix(prefix, offset, limit)})
	return sum(n), err
}

// DeleteRange deletes records with from <= key < to (see the DeleteRange
// mutation) and returns how many it deleted.
func (s *Store) DeleteRange(ctx context.Context, from, to string, offset, limit int) (int, error) {
	n, err := s.mutate(ctx, "delete range", []Mutation{DeleteRange(from, to, offset, limit)})
	return sum(n), err
}

// DeleteAll deletes every record of the store's namespace and returns how
// many it deleted.
func (s *Store) DeleteAll(ctx context.Context) (int, error) {
	n, err := s.mutate(ctx, "delete all", []Mutation{DeleteAll()})
	return sum(n), err
}

// Touch sets key's expiry to ttl from now (0: never expires) without changing
// its value or version, and appends a touch entry to the stream. It returns
// ErrNotFound if the key does not exist (and appends nothing).
func (s *Store) Touch(ctx context.Context, key string, ttl time.Duration) error {
	n, err := s.mutate(ctx, "touch", []Mutation{Touch(key, -1, ttl)})
	if err == nil && sum(n) == 0 {
		return fmt.Errorf("kv touch %s: %w", quoteShort(key), ErrNotFound)
	}
	return err
}

// MutateAll applies mutations in order in one transaction: all of them or
// none. It returns the rows each affected. If a version does not hold, the
// error wraps ErrVersionMismatch and says which mutation failed.
func (s *Store) MutateAll(ctx context.Context, mutations ...Mutation) ([]int, error) {
	return s.mutate(ctx, "mutate", mutations)
}

func sum(ns []int) int {
	t := 0
	for _, n := range ns {
		t += n
	}
	return t
}

// mutate validates mutations, turns them into driver ops and applies them.
// Patches are merged here, in the front, against the current records; the
// resulting put is conditional on the version that was read, and if another
// writer got in between (and the caller did not ask for a specific version)
// the whole batch is read and merged again.
func (s *Store) mutate(ctx context.Context, op string, ms []Mutation) (_ []int, err error) {
	defer s.track(op, &err)()
	if len(ms) == 0 {
		return []int{}, nil
	}
	plan, err := s.plan(ms)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		now, err := s.writeNow(op)
		if err != nil {
			return nil, err
		}
		ops, err := s.ops(ctx, plan, now)
		if err != nil {
			return nil, err
		}
		res, err := s.d.Apply(ctx, driver.Batch{Ops: ops, Now: now, Fence: s.fence})
		if err == nil {
			out := make([]int, len(res))
			for i, r := range res {
				out[i] = int(r.Rows)
			}
			return out, nil
		}
		var oe *driver.OpError
		if errors.As(err, &oe) && oe.Index >= 0 && oe.Index < len(plan) {
			p := plan[oe.Index]
			cause := oe.Err
			switch {
			case errors.Is(cause, ErrVersionLimit):
				cause = ErrVersionLimit
			case errors.Is(cause, ErrVersionMismatch):
				if p.kind == mPatch && p.version == -1 && attempt < s.patchRetries {
					if err := sleepCtx(ctx, backoff(attempt)); err != nil {
						return nil, wrap(op, err)
					}
					continue
				}
				cause = ErrVersionMismatch
			}
			return nil, mutationError(op, len(plan), oe.Index, p.kind, p.key, cause)
		}
		return nil, wrap(op, err)
	}
}

// mutationError is err of mutation i (of kind and key) of a call op with n
// mutations: it names the key, and the mutation if there are several.
func mutationError(op string, n, i int, kind mutationKind, key string, err error) error {
	if n == 1 {
		return fmt.Errorf("kv %s %s: %w", op, quoteShort(key), err)
	}
	return fmt.Errorf("kv %s: mutation %d (%s %s): %w", op, i, kind, quoteShort(key), err)
}

func uniqueStrings(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func backoff(attempt int) time.Duration {
	d := time.Duration(attempt+1) * 200 * time.Microsecond
	if d > 20*time.Millisecond {
		d = 20 * time.Millisecond
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
