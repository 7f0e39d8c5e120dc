package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
)

// trickyKeys exercise byte-exact ordering and matching: SQL wildcards, case,
// multi-byte and astral characters, and prefixes of each other.
var trickyKeys = []string{
	"a", "a%", "a%b", "a_", "a_b", "aXb", "ab", "ab*", "a*", "a.b", "A", "A_b", "B", "b",
	"_", "%", "*", "[a]", "a\\b", "a/b", "a/b/c", "a b", "a\tb",
	"é", "éa", "e\u0301", "ê", "\u00bf", "\u00bfz", "\u00c0", "\ud7ff", "\ue000",
	"\uffff", "\U00010000", "😀", "😀x", "\U0010FFFF", "\U0010FFFFa", "z", "zz", "~",
}

func putKeys(t *testing.T, s *kvcore.Store, keys []string) {
	t.Helper()
	ms := make([]kvcore.Mutation, len(keys))
	for i, k := range keys {
		ms[i] = kvcore.Put(k, -1, keyDoc(k))
	}
	_, err := s.MutateAll(context.Background(), ms...)
	require.NoError(t, err)
}

// keyDoc is the value putKeys stores for key k.
func keyDoc(k string) json.RawMessage {
	b, err := json.Marshal(map[string]string{"k": k})
	if err != nil {
		panic(err) // a string always marshals
	}
	return b
}

func keysOf(rs []kvcore.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key
	}
	return out
}

// sortedBytes returns keys in byte order (Go compares strings byte-wise).
func sortedBytes(keys []string) []string {
	out := append([]string(nil), keys...)
	sort.Strings(out)
	return out
}

func testOrdering(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	putKeys(t, s.Store, trickyKeys)
	rs, err := s.List(ctx, 0, 0)
	require.NoError(t, err)
	require.Equal(t, sortedBytes(trickyKeys), keysOf(rs), "List is in byte order")
	for _, r := range rs {
		require.Equal(t, string(keyDoc(r.Key)), string(r.Value))
	}
	requireCount(t, s.Store, len(trickyKeys))
}

func testPrefix(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	putKeys(t, s.Store, trickyKeys)
	prefixes := []string{"", "a", "a_", "a%", "a*", "A", "a/", "a/b", "é", "e", "\u00bf", "\ud7ff", "😀", "\U0010FFFF", "z", "nothing", "[", "\\"}
	for _, k := range trickyKeys {
		for i := 1; i <= len(k); i++ {
			if p := k[:i]; strings.ToValidUTF8(p, "") == p {
				prefixes = append(prefixes, p)
			}
		}
	}
	for _, p := range prefixes {
		var want []string
		for _, k := range sortedBytes(trickyKeys) {
			if strings.HasPrefix(k, p) {
				want = append(want, k)
			}
		}
		rs, err := s.GetPrefix(ctx, p, 0, 0)
		require.NoError(t, err)
		require.Equal(t, want, nilIfEmpty(keysOf(rs)), "GetPrefix(%q)", p)
		n, err := s.CountPrefix(ctx, p)
		require.NoError(t, err)
		require.Equal(t, len(want), n, "CountPrefix(%q)", p)
	}
}

func testRange(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	putKeys(t, s.Store, trickyKeys)
	bounds := append([]string{"", "0", "a_", "a~", "A", "B", "é", "\uffff", "\U0010FFFF\U0010FFFF"}, trickyKeys...)
	for _, from := range bounds {
		for _, to := range bounds {
			if to == "" || from > to {
				continue
			}
			var want []string
			for _, k := range sortedBytes(trickyKeys) {
				if k >= from && k < to {
					want = append(want, k)
				}
			}
			rs, err := s.GetRange(ctx, from, to, 0, 0)
			require.NoError(t, err)
			require.Equal(t, want, nilIfEmpty(keysOf(rs)), "GetRange(%q, %q)", from, to)
			n, err := s.CountRange(ctx, from, to)
			require.NoError(t, err)
			require.Equal(t, len(want), n, "CountRange(%q, %q)", from, to)
		}
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func testPagination(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	var keys []string
	for i := 0; i < 25; i++ {
		keys = append(keys, fmt.Sprintf("item/%03d", i))
	}
	putKeys(t, s.Store, append(keys, "other/1", "zzz"))

	var got []string
	for off := 0; off < 30; off += 10 {
		rs, err := s.GetPrefix(ctx, "item/", off, 10)
		require.NoError(t, err)
		got = append(got, keysOf(rs)...)
	}
	require.Equal(t, keys, got)
	rs, err := s.GetPrefix(ctx, "item/", 20, 100)
	require.NoError(t, err)
	require.Len(t, rs, 5)
	rs, err = s.GetPrefix(ctx, "item/", 30, 10)
	require.NoError(t, err)
	require.Empty(t, rs)
	rs, err = s.List(ctx, 1, 2)
	require.NoError(t, err)
	require.Equal(t, []string{"item/001", "item/002"}, keysOf(rs))
	rs, err = s.GetRange(ctx, "item/010", "item/020", 5, 3)
	require.NoError(t, err)
	require.Equal(t, []string{"item/015", "item/016", "item/017"}, keysOf(rs))

	// Negative offsets and limits are bad input.
	for _, c := range [][2]int{{-1, 10}, {0, -1}, {-5, -5}} {
		_, err := s.List(ctx, c[0], c[1])
		require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
		_, err = s.GetPrefix(ctx, "item/", c[0], c[1])
		require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
		_, err = s.GetRange(ctx, "a", "b", c[0], c[1])
		require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
		_, err = s.GetType(ctx, "T", c[0], c[1])
		require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
		_, err = s.DeletePrefix(ctx, "item/", c[0], c[1])
		require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	}
	// An absurd limit is just "all of them".
	rs, err = s.List(ctx, 0, 1<<62)
	require.NoError(t, err)
	require.Len(t, rs, 27)
	requireCount(t, s.Store, 27)
}

func testIterators(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	putKeys(t, s.Store, trickyKeys)

	for _, size := range []int{1, 3, 7, 1000} {
		var got []string
		for r, err := range s.All(ctx, kvcore.PageSize(size)) {
			require.NoError(t, err)
			got = append(got, r.Key)
		}
		require.Equal(t, sortedBytes(trickyKeys), got, "All with page size %d", size)

		got = nil
		for r, err := range s.AllPrefix(ctx, "a", kvcore.PageSize(size)) {
			require.NoError(t, err)
			got = append(got, r.Key)
		}
		rs, err := s.GetPrefix(ctx, "a", 0, 0)
		require.NoError(t, err)
		require.Equal(t, keysOf(rs), got, "AllPrefix with page size %d", size)

		got = nil
		for r, err := range s.AllRange(ctx, "B", "é", kvcore.PageSize(size)) {
			require.NoError(t, err)
			got = append(got, r.Key)
		}
		rs, err = s.GetRange(ctx, "B", "é", 0, 0)
		require.NoError(t, err)
		require.Equal(t, keysOf(rs), got, "AllRange with page size %d", size)
	}

	// Start after a cursor, and stop early.
	var got []string
	for r, err := range s.AllPrefix(ctx, "a", kvcore.StartAfter("a_"), kvcore.PageSize(2)) {
		require.NoError(t, err)
		got = append(got, r.Key)
		if len(got) == 3 {
			break
		}
	}
	var want []string
	for _, k := range sortedBytes(trickyKeys) {
		if strings.HasPrefix(k, "a") && k > "a_" && len(want) < 3 {
			want = append(want, k)
		}
	}
	require.Equal(t, want, got)

	// Bad input comes out of the iterator as an error.
	var errs int
	for _, err := range s.AllRange(ctx, "b", "a") {
		require.ErrorIs(t, err, kvcore.ErrInvalidKey)
		errs++
	}
	require.Equal(t, 1, errs)
}

func testTypes(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	for i := 0; i < 5; i++ {
		require.NoError(t, s.Put(ctx, fmt.Sprintf("p/%d", i), -1, Person{Name: fmt.Sprint(i)}))
	}
	require.NoError(t, s.Put(ctx, "x/1", -1, json.RawMessage(`1`), kvcore.WithType("Other")))
	require.NoError(t, s.Put(ctx, "a/first", -1, &Person{Name: "ptr"}))

	rs, err := s.GetType(ctx, "Person", 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"a/first", "p/0", "p/1", "p/2", "p/3", "p/4"}, keysOf(rs))
	rs, err = s.GetType(ctx, "Person", 2, 2)
	require.NoError(t, err)
	require.Equal(t, []string{"p/1", "p/2"}, keysOf(rs))
	n, err := s.CountType(ctx, "Person")
	require.NoError(t, err)
	require.Equal(t, 6, n)
	rs, err = s.GetType(ctx, "person", 0, 0)
	require.NoError(t, err)
	require.Empty(t, rs, "type names are case-sensitive")
	var got []string
	for r, err := range s.AllType(ctx, "Person", kvcore.PageSize(4)) {
		require.NoError(t, err)
		got = append(got, r.Key)
	}
	require.Equal(t, []string{"a/first", "p/0", "p/1", "p/2", "p/3", "p/4"}, got)
	_, err = s.GetType(ctx, "", 0, 0)
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)

	// Changing a record's type moves it between type listings.
	require.NoError(t, s.Put(ctx, "p/0", -1, json.RawMessage(`{}`), kvcore.WithType("Other")))
	n, err = s.CountType(ctx, "Person")
	require.NoError(t, err)
	require.Equal(t, 5, n)
	n, err = s.CountType(ctx, "Other")
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func testGetBatch(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	putKeys(t, s.Store, []string{"a", "b", "c", "d"})
	rs, err := s.GetBatch(ctx, "d", "missing", "a", "c", "a")
	require.NoError(t, err)
	require.Equal(t, []string{"d", "a", "c"}, keysOf(rs), "in the order asked, missing left out, repeats once")
	rs, err = s.GetBatch(ctx)
	require.NoError(t, err)
	require.Empty(t, rs)

	// Many keys in one call.
	var keys []string
	for i := 0; i < 2500; i++ {
		keys = append(keys, fmt.Sprintf("many/%05d", i))
	}
	putKeys(t, s.Store, keys)
	rev := make([]string, len(keys))
	for i, k := range keys {
		rev[len(keys)-1-i] = k
	}
	rs, err = s.GetBatch(ctx, rev...)
	require.NoError(t, err)
	require.Equal(t, rev, keysOf(rs))
}
