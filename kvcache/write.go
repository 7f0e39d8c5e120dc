package kvcache

import (
	"context"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// Writes through the cache are kvcore.Store's writes, made on the store
// under the cache, with read-your-writes: when one returns, the cache no
// longer holds what it may have changed, and no read of the database that
// began before it can fill the cache, so every later read of this cache
// sees the write (or something newer). A write that certainly changed
// nothing (a version mismatch, a fenced or invalid write) leaves the cache
// alone.

// Put writes value at key if version holds (see kvcore.Store.Put).
func (c *Cache) Put(ctx context.Context, key string, version int64, value any, opts ...kvcore.WriteOption) error {
	if err := c.checkOpen("put"); err != nil {
		return err
	}
	err := c.store.Put(ctx, key, version, value, opts...)
	c.wrote(err, key)
	return err
}

// Patch merges patch into key's value (RFC 7396) if version holds (see
// kvcore.Store.Patch).
func (c *Cache) Patch(ctx context.Context, key string, version int64, patch any, opts ...kvcore.WriteOption) error {
	if err := c.checkOpen("patch"); err != nil {
		return err
	}
	err := c.store.Patch(ctx, key, version, patch, opts...)
	c.wrote(err, key)
	return err
}

// Delete deletes keys in one transaction and returns how many existed
// (see kvcore.Store.Delete).
func (c *Cache) Delete(ctx context.Context, keys ...string) (int, error) {
	if err := c.checkOpen("delete"); err != nil {
		return 0, err
	}
	n, err := c.store.Delete(ctx, keys...)
	c.wrote(err, keys...)
	return n, err
}

// DeleteVersion deletes key only if it is at version (see
// kvcore.Store.DeleteVersion).
func (c *Cache) DeleteVersion(ctx context.Context, key string, version int64) (bool, error) {
	if err := c.checkOpen("delete"); err != nil {
		return false, err
	}
	ok, err := c.store.DeleteVersion(ctx, key, version)
	c.wrote(err, key)
	return ok, err
}

// Touch sets key's expiry to ttl from now (0: never) without changing its
// value or version (see kvcore.Store.Touch).
func (c *Cache) Touch(ctx context.Context, key string, ttl time.Duration) error {
	if err := c.checkOpen("touch"); err != nil {
		return err
	}
	err := c.store.Touch(ctx, key, ttl)
	c.wrote(err, key)
	return err
}

// MutateAll applies mutations in one transaction (see
// kvcore.Store.MutateAll). The cache cannot see which keys a mutation
// touches, so before returning it waits for the follower to read the
// stream up to its head (at most the catch-up wait; the whole cache is
// dropped if that takes longer).
func (c *Cache) MutateAll(ctx context.Context, mutations ...kvcore.Mutation) ([]int, error) {
	if err := c.checkOpen("mutate"); err != nil {
		return nil, err
	}
	n, err := c.store.MutateAll(ctx, mutations...)
	c.wroteSome(ctx, err)
	return n, err
}

// DeletePrefix deletes the records whose keys start with prefix (see
// kvcore.Store.DeletePrefix); it makes the cache see the deletes as
// MutateAll does.
func (c *Cache) DeletePrefix(ctx context.Context, prefix string, offset, limit int) (int, error) {
	if err := c.checkOpen("delete prefix"); err != nil {
		return 0, err
	}
	n, err := c.store.DeletePrefix(ctx, prefix, offset, limit)
	c.wroteSome(ctx, err)
	return n, err
}

// DeleteRange deletes the records with from <= key < to (see
// kvcore.Store.DeleteRange); it makes the cache see the deletes as
// MutateAll does.
func (c *Cache) DeleteRange(ctx context.Context, from, to string, offset, limit int) (int, error) {
	if err := c.checkOpen("delete range"); err != nil {
		return 0, err
	}
	n, err := c.store.DeleteRange(ctx, from, to, offset, limit)
	c.wroteSome(ctx, err)
	return n, err
}

// DeleteAll deletes every record of the namespace (see
// kvcore.Store.DeleteAll) and drops the whole cache.
func (c *Cache) DeleteAll(ctx context.Context) (int, error) {
	if err := c.checkOpen("delete all"); err != nil {
		return 0, err
	}
	n, err := c.store.DeleteAll(ctx)
	if err == nil || !changedNothing(err) {
		c.clear()
	}
	return n, err
}

// wrote drops keys after a write that may have changed them.
func (c *Cache) wrote(err error, keys ...string) {
	if err != nil && changedNothing(err) {
		return
	}
	for _, k := range keys {
		c.invalidate(k)
	}
}

// wroteSome makes a write of keys the cache does not know visible to it
// (if ctx has ended, by dropping the whole cache).
func (c *Cache) wroteSome(ctx context.Context, err error) {
	if err != nil && changedNothing(err) {
		return
	}
	c.syncOrClear(ctx)
}
