package kvcache

import (
	"context"
	"fmt"

	"github.com/kvsuite/kv/kvcore"
)

// Typed is a view of a Cache whose values are Ts, as kvcore.Typed is of a
// Store: reads are the cache's, writes go through the cache (with
// read-your-writes) and are encoded as kvcore.Typed encodes them.
type Typed[T any] struct {
	c     *Cache
	codec kvcore.Codec[T]
	w     *kvcore.Typed[T] // encodes writes
}

// NewTyped returns a typed view of c using the JSON codec.
func NewTyped[T any](c *Cache) *Typed[T] {
	return NewTypedCodec[T](c, kvcore.JSON[T]{})
}

// NewTypedCodec returns a typed view of c using codec.
func NewTypedCodec[T any](c *Cache, codec kvcore.Codec[T]) *Typed[T] {
	return &Typed[T]{c: c, codec: codec, w: kvcore.NewTypedCodec[T](c.store, codec)}
}

// Cache returns the untyped cache under t.
func (t *Typed[T]) Cache() *Cache { return t.c }

// Get reads key and decodes it. A missing key is kvcore.ErrNotFound.
func (t *Typed[T]) Get(ctx context.Context, key string) (T, kvcore.Record, error) {
	var v T
	r, err := t.c.GetRecord(ctx, key)
	if err != nil {
		return v, r, err
	}
	v, err = t.decode(r)
	return v, r, err
}

// GetBatch reads many keys (see Cache.GetBatch) and decodes them, in the
// order of keys, leaving out missing ones.
func (t *Typed[T]) GetBatch(ctx context.Context, keys ...string) ([]kvcore.Item[T], error) {
	rs, err := t.c.GetBatch(ctx, keys...)
	if err != nil {
		return nil, err
	}
	out := make([]kvcore.Item[T], len(rs))
	for i, r := range rs {
		v, err := t.decode(r)
		if err != nil {
			return nil, err
		}
		out[i] = kvcore.Item[T]{Key: r.Key, Value: v, Record: r}
	}
	return out, nil
}

// Put encodes v and writes it at key if version holds (see
// kvcore.Typed.Put).
func (t *Typed[T]) Put(ctx context.Context, key string, version int64, v T, opts ...kvcore.WriteOption) error {
	if err := t.c.checkOpen("put"); err != nil {
		return err
	}
	err := t.w.Put(ctx, key, version, v, opts...)
	t.c.wrote(err, key)
	return err
}

// Patch merges patch (RFC 7396) into key's value if version holds.
func (t *Typed[T]) Patch(ctx context.Context, key string, version int64, patch any, opts ...kvcore.WriteOption) error {
	return t.c.Patch(ctx, key, version, patch, opts...)
}

// Delete deletes key and reports whether it existed.
func (t *Typed[T]) Delete(ctx context.Context, key string) (bool, error) {
	n, err := t.c.Delete(ctx, key)
	return n == 1, err
}

func (t *Typed[T]) decode(r kvcore.Record) (T, error) {
	var v T
	if err := t.codec.Unmarshal(r.Value, &v); err != nil {
		return v, fmt.Errorf("kv decode %q: %w", r.Key, err)
	}
	return v, nil
}
