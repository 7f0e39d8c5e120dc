package kvcore

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
)

// Codec turns a T into a JSON document and back. kv stores JSON, so a codec
// for another serialisation must wrap it in JSON (for example as a string).
type Codec[T any] interface {
	Marshal(v T) (json.RawMessage, error)
	Unmarshal(data json.RawMessage, v *T) error
}

// JSON is the default Codec: encoding/json, with numbers decoded into an
// interface{} kept as json.Number.
type JSON[T any] struct{}

// Marshal encodes v with encoding/json.
func (JSON[T]) Marshal(v T) (json.RawMessage, error) { return json.Marshal(v) }

// Unmarshal decodes data into v.
func (JSON[T]) Unmarshal(data json.RawMessage, v *T) error { return decodeJSON(data, v) }

// Typed is a view of a Store whose values are Ts. Records it writes get the
// type name TypeOf(T) unless WithType says otherwise.
type Typed[T any] struct {
	s     *Store
	codec Codec[T]
	typ   string
}

// NewTyped returns a typed view of s using the JSON codec.
func NewTyped[T any](s *Store) *Typed[T] {
	return NewTypedCodec[T](s, JSON[T]{})
}

// NewTypedCodec returns a typed view of s using codec.
func NewTypedCodec[T any](s *Store, codec Codec[T]) *Typed[T] {
	var zero T
	return &Typed[T]{s: s, codec: codec, typ: TypeOf(zero)}
}

// Store returns the untyped store under t.
func (t *Typed[T]) Store() *Store { return t.s }

// Get reads key and decodes it. A missing key is ErrNotFound.
func (t *Typed[T]) Get(ctx context.Context, key string) (T, Record, error) {
	var v T
	r, err := t.s.GetRecord(ctx, key)
	if err != nil {
		return v, r, err
	}
	v, err = t.decode(r)
	return v, r, err
}

// Put encodes v and writes it at key if version holds.
func (t *Typed[T]) Put(ctx context.Context, key string, version int64, v T, opts ...WriteOption) error {
	raw, err := t.codec.Marshal(v)
	if err != nil {
		return fmt.Errorf("kv put %s: %w: %v", quoteShort(key), ErrInvalidValue, err)
	}
	if t.typ != "" {
		opts = append([]WriteOption{WithType(t.typ)}, opts...)
	}
	return t.s.Put(ctx, key, version, raw, opts...)
}

// Patch merges patch (RFC 7396) into key's value if version holds.
func (t *Typed[T]) Patch(ctx context.Context, key string, version int64, patch any, opts ...WriteOption) error {
	return t.s.Patch(ctx, key, version, patch, opts...)
}

// Delete deletes key and reports whether it existed.
func (t *Typed[T]) Delete(ctx context.Context, key string) (bool, error) {
	n, err := t.s.Delete(ctx, key)
	return n == 1, err
}

// GetPrefix returns decoded values whose keys start with prefix.
func (t *Typed[T]) GetPrefix(ctx context.Context, prefix string, offset, limit int) ([]T, error) {
	rs, err := t.s.GetPrefix(ctx, prefix, offset, limit)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(rs))
	for _, r := range rs {
		v, err := t.decode(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Item is a decoded record from a typed iterator.
type Item[T any] struct {
	Key    string
	Value  T
	Record Record
}

// AllPrefix iterates over the decoded records whose keys start with prefix,
// paging by key.
func (t *Typed[T]) AllPrefix(ctx context.Context, prefix string, opts ...IterOption) iter.Seq2[Item[T], error] {
	return t.items(t.s.AllPrefix(ctx, prefix, opts...))
}

// All iterates over every decoded record of the store, paging by key.
func (t *Typed[T]) All(ctx context.Context, opts ...IterOption) iter.Seq2[Item[T], error] {
	return t.items(t.s.All(ctx, opts...))
}

func (t *Typed[T]) items(records iter.Seq2[Record, error]) iter.Seq2[Item[T], error] {
	return func(yield func(Item[T], error) bool) {
		for r, err := range records {
			var it Item[T]
			if err == nil {
				it.Key, it.Record = r.Key, r
				it.Value, err = t.decode(r)
			}
			if !yield(it, err) || err != nil {
				return
			}
		}
	}
}

func (t *Typed[T]) decode(r Record) (T, error) {
	var v T
	if err := t.codec.Unmarshal(r.Value, &v); err != nil {
		return v, fmt.Errorf("kv decode %s: %w", quoteShort(r.Key), err)
	}
	return v, nil
}
