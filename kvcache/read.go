package kvcache

import (
	"context"
	"errors"
	"fmt"

	"github.com/kvsuite/kv/kvcore"
)

// Get reads key as kvcore.Store.Get does: if the key exists (and has not
// expired) it decodes the value into v (unless v is nil) and returns the
// record and true; if not, it returns false and no error. The answer comes
// from memory when the cache holds the key and its promise allows (see
// Bounded and Fresh), and from the database otherwise, which also fills
// the cache.
func (c *Cache) Get(ctx context.Context, key string, v any) (kvcore.Record, bool, error) {
	if err := c.checkOpen("get"); err != nil {
		return kvcore.Record{}, false, err
	}
	if err := kvcore.ValidateKey(key); err != nil {
		return kvcore.Record{}, false, err
	}
	r, ok, err := c.get(ctx, key)
	if err != nil || !ok || v == nil {
		return r, ok, err
	}
	if err := r.Decode(v); err != nil {
		return r, true, fmt.Errorf("kv get %q: %w", key, err)
	}
	return r, true, nil
}

// GetRecord reads key (see Get) and returns kvcore.ErrNotFound if it does
// not exist.
func (c *Cache) GetRecord(ctx context.Context, key string) (kvcore.Record, error) {
	r, ok, err := c.Get(ctx, key, nil)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fmt.Errorf("kv get %q: %w", key, kvcore.ErrNotFound)
	}
	return r, nil
}

// GetBatch reads many keys as kvcore.Store.GetBatch does: the records
// found, in the order of keys (missing or expired keys are left out; a
// repeated key is returned once). Keys the cache holds are answered from
// memory (when its promise allows); the others are read from the database
// in one query, which also fills the cache.
func (c *Cache) GetBatch(ctx context.Context, keys ...string) ([]kvcore.Record, error) {
	if err := c.checkOpen("get batch"); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	uniq := make([]string, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if err := kvcore.ValidateKey(k); err != nil {
			return nil, err
		}
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, k)
		}
	}
	ready, err := c.ready(ctx)
	if err != nil {
		return nil, err
	}
	type slot struct {
		rec   kvcore.Record
		found bool
	}
	slots := make([]slot, len(uniq))
	var missing []string
	var at []int // missing[j] is uniq[at[j]]
	for i, k := range uniq {
		if ready {
			if r, found, hit := c.lookup(k); hit {
				slots[i] = slot{r, found}
				continue
			}
		}
		missing = append(missing, k)
		at = append(at, i)
	}
	if !ready {
		c.bypassed.Add(int64(len(uniq)))
	}
	if len(missing) > 0 {
		fills := make([]*fill, len(missing))
		for j, k := range missing {
			if c.following() {
				fills[j], _ = c.shard(k).beginFill(k, false)
			}
		}
		recs, err := c.store.GetBatch(ctx, missing...)
		byKey := kvcore.RecordsOf(recs)
		for j, k := range missing {
			r, found := byKey[k]
			if fills[j] != nil {
				c.shard(k).finishFill(k, fills[j], r, found, err)
			}
			slots[at[j]] = slot{r, found}
		}
		if err != nil {
			return nil, err
		}
	}
	out := make([]kvcore.Record, 0, len(uniq))
	for _, s := range slots {
		if s.found {
			out = append(out, s.rec)
		}
	}
	return out, nil
}

// ready reports whether the cache may answer a read that begins now, by
// the cache's promise; if not, the read goes to the database.
func (c *Cache) ready(ctx context.Context) (bool, error) {
	if c.opts.mode == fresh {
		h, err := c.head(ctx)
		if err != nil {
			return false, err
		}
		return !c.gap.Load() && c.waitApplied(ctx, h, c.opts.catchUpWait), nil
	}
	at := c.caughtUp.Load()
	if at != 0 && c.since(at) <= c.opts.staleness && !c.gap.Load() {
		return true, nil
	}
	c.nudge()
	return false, nil
}

// get reads a valid key.
func (c *Cache) get(ctx context.Context, key string) (kvcore.Record, bool, error) {
	ready, err := c.ready(ctx)
	if err != nil {
		return kvcore.Record{}, false, err
	}
	if !ready {
		c.bypassed.Add(1)
		return c.fetch(ctx, key, false)
	}
	if r, found, hit := c.lookup(key); hit {
		return r, found, nil
	}
	return c.fetch(ctx, key, true)
}

// lookup answers key from memory: hit is false if the cache does not hold
// it, or holds a record that has expired by the store's clock (which it
// then drops).
func (c *Cache) lookup(key string) (r kvcore.Record, found, hit bool) {
	sh := c.shard(key)
	r, absent, hit := sh.lookup(key)
	switch {
	case !hit:
		return r, false, false
	case absent:
		return kvcore.Record{}, false, true
	case r.Expires != nil && !r.Expires.After(c.store.Now()):
		sh.expired(key, r.Version)
		return kvcore.Record{}, false, false
	}
	return r, true, true
}

// following reports whether the follower has read the stream's head, so
// that a read of the database may fill the cache. (Before, a fill could
// read older data than the head at which the follower will start.)
func (c *Cache) following() bool { return c.pos.Load() >= 0 }

// fetch reads key from the database through a fill, which installs the
// result unless a change of the key may have come in between. With join,
// a read of the key already in flight is shared instead (its result
// reflects every change the follower had applied when this call began,
// or it would have been marked stale and left).
func (c *Cache) fetch(ctx context.Context, key string, join bool) (kvcore.Record, bool, error) {
	if !c.following() {
		return c.store.Get(ctx, key, nil)
	}
	sh := c.shard(key)
	for {
		f, leader := sh.beginFill(key, join)
		if f != nil && !leader {
			select {
			case <-f.done:
			case <-ctx.Done():
				return kvcore.Record{}, false, ctx.Err()
			}
			if f.err != nil && ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
				continue // the reader it shared gave up; read again
			}
			return copyRecord(f.rec), f.found, f.err
		}
		r, found, err := c.store.Get(ctx, key, nil)
		if f != nil {
			sh.finishFill(key, f, r, found, err)
		}
		return r, found, err
	}
}
