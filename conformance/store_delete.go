package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
)

func testDelete(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	putKeys(t, s.Store, []string{"a", "b", "c"})
	n, err := s.Delete(ctx, "a", "missing", "c")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = s.Delete(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, 0, n, "deleting a missing key affects nothing")
	rs, err := s.List(ctx, 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"b"}, keysOf(rs))
}

func testDeletePrefixRange(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	putKeys(t, s.Store, trickyKeys)

	// Wildcards mean nothing: "a_" deletes only keys starting with "a_".
	n, err := s.DeletePrefix(ctx, "a_", 0, 0)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	_, ok, err := s.Get(ctx, "aXb", nil)
	require.NoError(t, err)
	require.True(t, ok)
	n, err = s.DeletePrefix(ctx, "a%", 0, 0)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = s.DeletePrefix(ctx, "A", 0, 0)
	require.NoError(t, err)
	require.Equal(t, 2, n, "case-sensitive")

	// Offset and limit apply in key order.
	var keys []string
	for i := 0; i < 10; i++ {
		keys = append(keys, fmt.Sprintf("q/%d", i))
	}
	putKeys(t, s.Store, keys)
	n, err = s.DeletePrefix(ctx, "q/", 2, 3)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	rs, err := s.GetPrefix(ctx, "q/", 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"q/0", "q/1", "q/5", "q/6", "q/7", "q/8", "q/9"}, keysOf(rs))

	n, err = s.DeleteRange(ctx, "q/1", "q/7", 0, 0)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	rs, err = s.GetPrefix(ctx, "q/", 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"q/0", "q/7", "q/8", "q/9"}, keysOf(rs))
	n, err = s.DeleteRange(ctx, "q/", "q/9", 1, 1)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	rs, err = s.GetPrefix(ctx, "q/", 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"q/0", "q/8", "q/9"}, keysOf(rs))

	// DeleteAll is the explicit way to delete everything.
	total, err := s.Count(ctx)
	require.NoError(t, err)
	n, err = s.DeleteAll(ctx)
	require.NoError(t, err)
	require.Equal(t, total, n)
	requireCount(t, s.Store, 0)
}

func testMutateAll(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	putKeys(t, s.Store, []string{"x/1", "x/2", "x/3", "keep"})

	rows, err := s.MutateAll(ctx,
		kvcore.Put("new", 0, json.RawMessage(`{"a":1}`)),
		kvcore.Patch("new", 1, json.RawMessage(`{"b":2}`)),
		kvcore.Patch("keep", -1, json.RawMessage(`{"p":true}`)),
		kvcore.Delete("x/1"),
		kvcore.Delete("missing"),
		kvcore.DeletePrefix("x/", 0, 0),
		kvcore.Put("x/9", -1, json.RawMessage(`9`)),
	)
	require.NoError(t, err)
	require.Equal(t, []int{1, 1, 1, 1, 0, 2, 1}, rows)
	requireValue(t, s.Store, "new", `{"a":1,"b":2}`, 2)
	requireValue(t, s.Store, "keep", `{"k":"keep","p":true}`, 2)
	rs, err := s.List(ctx, 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"keep", "new", "x/9"}, keysOf(rs))

	// All or nothing: a mismatch in the last mutation undoes the first ones,
	// and the error says which mutation failed.
	_, err = s.MutateAll(ctx,
		kvcore.Put("new", -1, json.RawMessage(`"changed"`)),
		kvcore.Delete("keep"),
		kvcore.DeleteAll(),
		kvcore.Put("x/9", 5, json.RawMessage(`"wrong version"`)),
	)
	require.ErrorIs(t, err, kvcore.ErrVersionMismatch)
	require.Contains(t, err.Error(), "mutation 3")
	requireValue(t, s.Store, "new", `{"a":1,"b":2}`, 2)
	requireValue(t, s.Store, "keep", `{"k":"keep","p":true}`, 2)
	requireCount(t, s.Store, 3)

	// A patch whose version does not hold fails the batch too.
	_, err = s.MutateAll(ctx, kvcore.Put("y", -1, json.RawMessage(`1`)), kvcore.Patch("new", 1, json.RawMessage(`{}`)))
	require.ErrorIs(t, err, kvcore.ErrVersionMismatch)
	_, ok, err := s.Get(ctx, "y", nil)
	require.NoError(t, err)
	require.False(t, ok)

	// Bad input anywhere changes nothing.
	_, err = s.MutateAll(ctx, kvcore.Put("z", -1, json.RawMessage(`1`)), kvcore.Put("z2", -1, json.RawMessage(`{`)))
	require.ErrorIs(t, err, kvcore.ErrInvalidValue)
	_, err = s.MutateAll(ctx, kvcore.Put("z", -1, json.RawMessage(`1`)), kvcore.Mutation{})
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	requireCount(t, s.Store, 3)

	rows, err = s.MutateAll(ctx)
	require.NoError(t, err)
	require.Empty(t, rows)
}

func testMutateAllLarge(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	var ms []kvcore.Mutation
	for i := 0; i < 1000; i++ {
		ms = append(ms, kvcore.Put(fmt.Sprintf("bulk/%04d", i), 0, json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))))
	}
	rows, err := s.MutateAll(ctx, ms...)
	require.NoError(t, err)
	require.Len(t, rows, 1000)
	requireCount(t, s.Store, 1000)
	requireValue(t, s.Store, "bulk/0999", `{"i":999}`, 1)

	// The same thousand again with version 0 all fail, none is written.
	ms[500] = kvcore.Put("bulk/new", 0, json.RawMessage(`1`))
	_, err = s.MutateAll(ctx, ms...)
	require.ErrorIs(t, err, kvcore.ErrVersionMismatch)
	_, ok, err := s.Get(ctx, "bulk/new", nil)
	require.NoError(t, err)
	require.False(t, ok)
}

func testNamespaces(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	a, err := s.Namespace("a")
	require.NoError(t, err)
	b, err := s.Namespace("b")
	require.NoError(t, err)

	require.NoError(t, s.Put(ctx, "k", -1, json.RawMessage(`"default"`)))
	require.NoError(t, a.Put(ctx, "k", -1, json.RawMessage(`"a"`)))
	require.NoError(t, a.Put(ctx, "k", -1, json.RawMessage(`"a2"`)))
	require.NoError(t, b.Put(ctx, "k2", 0, json.RawMessage(`"b"`)))

	requireValue(t, s.Store, "k", `"default"`, 1)
	requireValue(t, a, "k", `"a2"`, 2)
	_, ok, err := b.Get(ctx, "k", nil)
	require.NoError(t, err)
	require.False(t, ok, "nothing in one namespace is seen from another")
	requireCount(t, s.Store, 1)
	requireCount(t, a, 1)
	requireCount(t, b, 1)
	rs, err := b.List(ctx, 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"k2"}, keysOf(rs))

	n, err := a.DeleteAll(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	requireCount(t, s.Store, 1)
	requireCount(t, b, 1)

	_, err = s.Namespace("bad\x00")
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
}
