package conformance

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
)

// Person is a sample value type.
type Person struct {
	Name  string   `json:"name"`
	Age   int      `json:"age"`
	Phone []string `json:"phone,omitempty"`
}

func testPutGet(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	now := s.clock.Now()

	require.NoError(t, s.Put(ctx, "person/alice", -1, Person{Name: "Alice", Age: 30}))
	var p Person
	r, ok, err := s.Get(ctx, "person/alice", &p)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, Person{Name: "Alice", Age: 30}, p)
	require.Equal(t, "person/alice", r.Key)
	require.Equal(t, int64(1), r.Version)
	require.Equal(t, "Person", r.Type, "type is taken from the Go type")
	require.JSONEq(t, `{"name":"Alice","age":30}`, string(r.Value))
	require.True(t, r.Created.Equal(now), "created %v, want %v", r.Created, now)
	require.True(t, r.Updated.Equal(now))
	require.Equal(t, time.UTC, r.Created.Location())
	require.Nil(t, r.Expires)

	// A missing key is not an error for Get, but is for GetRecord.
	_, ok, err = s.Get(ctx, "person/nobody", &p)
	require.NoError(t, err)
	require.False(t, ok)
	_, err = s.GetRecord(ctx, "person/nobody")
	require.ErrorIs(t, err, kvcore.ErrNotFound)

	// Raw JSON is stored as JSON (compacted), with no type unless given.
	require.NoError(t, s.Put(ctx, "raw", -1, json.RawMessage(`{ "hello" : "world" }`)))
	r, err = s.GetRecord(ctx, "raw")
	require.NoError(t, err)
	require.Equal(t, `{"hello":"world"}`, string(r.Value))
	require.Equal(t, "", r.Type)
	require.NoError(t, s.Put(ctx, "raw2", -1, []byte(`[1,2,3]`), kvcore.WithType("list")))
	r, err = s.GetRecord(ctx, "raw2")
	require.NoError(t, err)
	require.Equal(t, `[1,2,3]`, string(r.Value))
	require.Equal(t, "list", r.Type)

	// Any JSON document is a value: scalars, null, strings.
	for key, v := range map[string]string{"n": `42`, "s": `"text"`, "null": `null`, "b": `true`, "e": `{}`} {
		require.NoError(t, s.Put(ctx, key, -1, json.RawMessage(v)))
		r, err := s.GetRecord(ctx, key)
		require.NoError(t, err)
		require.Equal(t, v, string(r.Value))
	}
}

func testUpdate(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	created := s.clock.Now()
	require.NoError(t, s.Put(ctx, "k", -1, Person{Name: "A"}))
	s.clock.Advance(time.Second)
	require.NoError(t, s.Put(ctx, "k", -1, Person{Name: "B"}))
	s.clock.Advance(time.Second)
	require.NoError(t, s.Put(ctx, "k", -1, Person{Name: "C"}))
	var p Person
	r, ok, err := s.Get(ctx, "k", &p)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "C", p.Name)
	require.Equal(t, int64(3), r.Version)
	require.True(t, r.Created.Equal(created), "created is kept on update")
	require.True(t, r.Updated.Equal(created.Add(2*time.Second)), "updated %v", r.Updated)
}

func testVersions(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	v := json.RawMessage(`{"v":1}`)

	// Version N > 0 on a missing key is a mismatch, never an insert.
	require.ErrorIs(t, s.Put(ctx, "k", 1, v), kvcore.ErrVersionMismatch)
	require.ErrorIs(t, s.Patch(ctx, "k", 1, v), kvcore.ErrVersionMismatch)
	requireCount(t, s.Store, 0)

	// Version 0: only if the key does not exist.
	require.NoError(t, s.Put(ctx, "k", 0, v))
	require.ErrorIs(t, s.Put(ctx, "k", 0, json.RawMessage(`{"v":2}`)), kvcore.ErrVersionMismatch)
	requireValue(t, s.Store, "k", `{"v":1}`, 1)

	// Version N: only if the record is at exactly N.
	require.ErrorIs(t, s.Put(ctx, "k", 2, json.RawMessage(`{"v":2}`)), kvcore.ErrVersionMismatch)
	require.NoError(t, s.Put(ctx, "k", 1, json.RawMessage(`{"v":2}`)))
	requireValue(t, s.Store, "k", `{"v":2}`, 2)
	require.ErrorIs(t, s.Patch(ctx, "k", 1, json.RawMessage(`{"x":1}`)), kvcore.ErrVersionMismatch)
	require.NoError(t, s.Patch(ctx, "k", 2, json.RawMessage(`{"x":1}`)))
	requireValue(t, s.Store, "k", `{"v":2,"x":1}`, 3)

	// Delete with a version.
	ok, err := s.DeleteVersion(ctx, "k", 2)
	require.ErrorIs(t, err, kvcore.ErrVersionMismatch)
	require.False(t, ok)
	requireValue(t, s.Store, "k", `{"v":2,"x":1}`, 3)
	ok, err = s.DeleteVersion(ctx, "k", 3)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = s.DeleteVersion(ctx, "k", 3)
	require.ErrorIs(t, err, kvcore.ErrVersionMismatch, "versioned delete of a missing key")

	// After a delete the key starts again at version 1.
	require.NoError(t, s.Put(ctx, "k", 0, v))
	requireValue(t, s.Store, "k", `{"v":1}`, 1)

	// Versions below -1 are bad input.
	require.ErrorIs(t, s.Put(ctx, "k", -2, v), kvcore.ErrInvalidArgument)
	requireValue(t, s.Store, "k", `{"v":1}`, 1)
}

func testPatch(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	require.NoError(t, s.Put(ctx, "p", -1, json.RawMessage(`{"name":"Alice","address":{"city":"Paris","zip":"75001","geo":{"lat":1,"lon":2}},"tags":["a","b"],"drop":1}`), kvcore.WithType("Profile")))

	// Nested objects merge, null deletes a member, arrays are replaced.
	require.NoError(t, s.Patch(ctx, "p", -1, json.RawMessage(`{"address":{"zip":null,"geo":{"lat":9},"street":"Rue"},"tags":["c"],"drop":null,"new":{"x":null,"y":true}}`)))
	r, err := s.GetRecord(ctx, "p")
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"Alice","address":{"city":"Paris","geo":{"lat":9,"lon":2},"street":"Rue"},"tags":["c"],"new":{"y":true}}`, string(r.Value))
	require.Equal(t, int64(2), r.Version)
	require.Equal(t, "Profile", r.Type, "patch keeps the type")

	// A Go value as a patch works too, and still keeps the type.
	require.NoError(t, s.Patch(ctx, "p", 2, map[string]any{"name": "Alicia"}))
	r, err = s.GetRecord(ctx, "p")
	require.NoError(t, err)
	require.Equal(t, "Profile", r.Type)
	require.Contains(t, string(r.Value), `"name":"Alicia"`)

	// A patch that is not an object replaces the value.
	require.NoError(t, s.Patch(ctx, "p", -1, json.RawMessage(`[1,2]`)))
	requireValue(t, s.Store, "p", `[1,2]`, 4)
	// An object patch on a non-object value patches {}.
	require.NoError(t, s.Patch(ctx, "p", -1, json.RawMessage(`{"a":1,"b":null}`)))
	requireValue(t, s.Store, "p", `{"a":1}`, 5)

	// Patch of a missing key (-1 or 0) creates it from {}.
	require.NoError(t, s.Patch(ctx, "fresh", -1, json.RawMessage(`{"a":{"b":null,"c":1}}`)))
	requireValue(t, s.Store, "fresh", `{"a":{"c":1}}`, 1)
	require.NoError(t, s.Patch(ctx, "fresh0", 0, json.RawMessage(`{"a":1}`)))
	requireValue(t, s.Store, "fresh0", `{"a":1}`, 1)
	require.ErrorIs(t, s.Patch(ctx, "fresh0", 0, json.RawMessage(`{"a":2}`)), kvcore.ErrVersionMismatch)

	// An invalid patch changes nothing.
	require.ErrorIs(t, s.Patch(ctx, "fresh0", -1, json.RawMessage(`{"a":`)), kvcore.ErrInvalidValue)
	requireValue(t, s.Store, "fresh0", `{"a":1}`, 1)
}

func testPrecision(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	doc := `{"big":123456789012345678901234567890,"neg":-9223372036854775809,"dec":0.1000000000000000000000000001,"exp":1.5e308,"tiny":4.9e-324,"f":1.0,"u":"\u00e9\ud83d\ude00"}`
	require.NoError(t, s.Put(ctx, "n", -1, json.RawMessage(doc)))
	r, err := s.GetRecord(ctx, "n")
	require.NoError(t, err)
	require.Equal(t, doc, string(r.Value), "numbers and escapes are kept byte for byte")

	// Decoding into interface{} keeps numbers as json.Number.
	var m map[string]any
	_, _, err = s.Get(ctx, "n", &m)
	require.NoError(t, err)
	require.Equal(t, json.Number("123456789012345678901234567890"), m["big"])

	// A patch keeps the precision of both sides.
	require.NoError(t, s.Patch(ctx, "n", -1, json.RawMessage(`{"more":98765432109876543210.000000000001}`)))
	r, err = s.GetRecord(ctx, "n")
	require.NoError(t, err)
	require.Contains(t, string(r.Value), `"big":123456789012345678901234567890`)
	require.Contains(t, string(r.Value), `"more":98765432109876543210.000000000001`)
}

func testBadKeys(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	v := json.RawMessage(`1`)
	bad := map[string]string{
		"empty":     "",
		"too long":  strings.Repeat("k", kvcore.MaxKeyLen+1),
		"NUL":       "a\x00b",
		"not UTF-8": "a\xffb",
	}
	for name, key := range bad {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, s.Put(ctx, key, -1, v), kvcore.ErrInvalidKey)
			require.ErrorIs(t, s.Patch(ctx, key, -1, v), kvcore.ErrInvalidKey)
			_, _, err := s.Get(ctx, key, nil)
			require.ErrorIs(t, err, kvcore.ErrInvalidKey)
			_, err = s.Delete(ctx, key)
			require.ErrorIs(t, err, kvcore.ErrInvalidKey)
			_, err = s.GetBatch(ctx, "ok", key)
			require.ErrorIs(t, err, kvcore.ErrInvalidKey)
			_, err = s.MutateAll(ctx, kvcore.Put("fine", -1, v), kvcore.Put(key, -1, v))
			require.ErrorIs(t, err, kvcore.ErrInvalidKey)
			require.ErrorIs(t, s.Touch(ctx, key, time.Hour), kvcore.ErrInvalidKey)
		})
	}
	requireCount(t, s.Store, 0)

	// The longest key works, and SQL-looking keys are just keys.
	long := strings.Repeat("k", kvcore.MaxKeyLen)
	for _, key := range []string{long, "'; DROP TABLE kv; --", `"quoted"`, "a b\tc\nd", "%", "_", "*"} {
		require.NoError(t, s.Put(ctx, key, -1, v))
		requireValue(t, s.Store, key, `1`, 1)
	}

	// Bad prefixes and ranges.
	_, err := s.GetPrefix(ctx, "a\x00", 0, 0)
	require.ErrorIs(t, err, kvcore.ErrInvalidKey)
	_, err = s.GetRange(ctx, "b", "a", 0, 0)
	require.ErrorIs(t, err, kvcore.ErrInvalidKey, "from after to")
	_, err = s.GetRange(ctx, "a", "", 0, 0)
	require.ErrorIs(t, err, kvcore.ErrInvalidKey, "empty end")
	_, err = s.DeletePrefix(ctx, "", 0, 0)
	require.ErrorIs(t, err, kvcore.ErrInvalidKey, "empty prefix is not delete-all")
	requireCount(t, s.Store, 7)
}

func testBadValues(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f, kvcore.WithMaxValueSize(1024))
	require.NoError(t, s.Put(ctx, "k", -1, json.RawMessage(`{"ok":true}`)))
	for _, v := range []string{``, `{`, `{"a":}`, `nul`, `{"a":1}{"b":2}`, "\"\x00\"", `'single'`, "\"\xff\xfe\"", "{\"k\xc3\":1}"} {
		require.ErrorIs(t, s.Put(ctx, "k", -1, json.RawMessage(v)), kvcore.ErrInvalidValue, "value %q", v)
		require.ErrorIs(t, s.Put(ctx, "other", -1, []byte(v)), kvcore.ErrInvalidValue, "value %q", v)
	}
	require.ErrorIs(t, s.Put(ctx, "k", -1, make(chan int)), kvcore.ErrInvalidValue)

	// Over the size limit, as a value and as the result of a patch.
	big := `"` + strings.Repeat("x", 1100) + `"`
	require.ErrorIs(t, s.Put(ctx, "k", -1, json.RawMessage(big)), kvcore.ErrInvalidValue)
	require.NoError(t, s.Put(ctx, "grow", -1, json.RawMessage(`{"a":"`+strings.Repeat("x", 600)+`"}`)))
	require.ErrorIs(t, s.Patch(ctx, "grow", -1, json.RawMessage(`{"b":"`+strings.Repeat("y", 600)+`"}`)), kvcore.ErrInvalidValue)

	// Bad TTLs and offsets.
	require.ErrorIs(t, s.Put(ctx, "k", -1, json.RawMessage(`1`), kvcore.WithTTL(-time.Second)), kvcore.ErrInvalidArgument)
	require.ErrorIs(t, s.Put(ctx, "k", -1, json.RawMessage(`1`), kvcore.WithTTL(0)), kvcore.ErrInvalidArgument)
	require.ErrorIs(t, s.Put(ctx, "k", -1, json.RawMessage(`1`), kvcore.WithExpiry(s.clock.Now().Add(-time.Hour))), kvcore.ErrInvalidArgument)
	require.ErrorIs(t, s.Put(ctx, "k", -1, json.RawMessage(`1`), kvcore.WithType("a\x00")), kvcore.ErrInvalidArgument)

	requireValue(t, s.Store, "k", `{"ok":true}`, 1)
	requireValue(t, s.Store, "grow", `{"a":"`+strings.Repeat("x", 600)+`"}`, 1)
	requireCount(t, s.Store, 2)

	// The default limit is 16 MiB.
	d := newEnv(t, f)
	huge := make([]byte, kvcore.DefaultMaxValueSize+1)
	for i := range huge {
		huge[i] = ' '
	}
	copy(huge, `"`)
	huge[len(huge)-1] = '"'
	require.ErrorIs(t, d.Put(ctx, "huge", -1, json.RawMessage(huge)), kvcore.ErrInvalidValue)
	requireCount(t, d.Store, 0)
}

func testLargeValue(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	v := `{"blob":"` + strings.Repeat("0123456789abcdef", 1<<16) + `"}` // 1 MiB
	require.NoError(t, s.Put(ctx, "large", -1, json.RawMessage(v)))
	requireValue(t, s.Store, "large", v, 1)
}

func requireCount(t *testing.T, s *kvcore.Store, want int) {
	t.Helper()
	n, err := s.Count(context.Background())
	require.NoError(t, err)
	require.Equal(t, want, n, "record count")
}

func requireValue(t *testing.T, s *kvcore.Store, key, value string, version int64) {
	t.Helper()
	r, err := s.GetRecord(context.Background(), key)
	require.NoError(t, err)
	require.Equal(t, value, string(r.Value), "value of %q", key)
	require.Equal(t, version, r.Version, "version of %q", key)
}
