package badinput

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kvsuite/kv/kvcore"
)

// The store-level fuzz tests run against one in-memory SQLite store per
// fuzz target; each input leaves the store as it found it (a sentinel record
// checks that refused input changes nothing).

const sentinelKey = "sentinel"

// sentinel puts the record that every input must leave alone.
func sentinel(tb testing.TB, st *kvcore.Store) kvcore.Record {
	tb.Helper()
	ctx := context.Background()
	if err := st.Put(ctx, sentinelKey, -1, json.RawMessage(`{"keep":true}`)); err != nil {
		tb.Fatal(err)
	}
	r, err := st.GetRecord(ctx, sentinelKey)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// checkUnchanged fails unless the store holds only the sentinel, as it was.
func checkUnchanged(t *testing.T, st *kvcore.Store, want kvcore.Record, what string) {
	t.Helper()
	ctx := context.Background()
	all, err := st.List(ctx, 0, 0)
	if err != nil {
		t.Fatalf("%s: list: %v", what, err)
	}
	if len(all) != 1 || all[0].Key != want.Key || all[0].Version != want.Version || !bytes.Equal(all[0].Value, want.Value) {
		t.Fatalf("%s changed the store: %+v", what, all)
	}
}

var keySeeds = []string{
	"", "a", "user:1", "a\x00b", "a\xffb", "\xed\xa0\x80", strings.Repeat("k", 1024), strings.Repeat("k", 1025),
	strings.Repeat("é", 512), "'; DROP TABLE kv; --", `Robert"); DELETE FROM kv; --`, "%", "_", "a%", "a_b",
	`\`, `\%`, "\U0010FFFF", "\uFFFF", " ", "-", "*", "😀", "\u202e", "a\nb", "sentinel", "sentinel\x00",
}

// FuzzStoreKeys: an accepted key reads back byte-exact (by Get, GetBatch and
// GetPrefix); a refused one wraps ErrInvalidKey and changes nothing.
func FuzzStoreKeys(f *testing.F) {
	for _, k := range keySeeds {
		f.Add(k)
	}
	_, st := openMemory(f)
	keep := sentinel(f, st)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, key string) {
		if key == sentinelKey {
			return
		}
		value := json.RawMessage(`{"k":1}`)
		err := st.Put(ctx, key, -1, value)
		if verr := kvcore.ValidateKey(key); (verr == nil) != (err == nil) {
			t.Fatalf("Put(%q) = %v but ValidateKey = %v", key, err, verr)
		}
		if err != nil {
			if !errors.Is(err, kvcore.ErrInvalidKey) {
				t.Fatalf("Put(%q) = %v, want ErrInvalidKey", key, err)
			}
			if _, _, gerr := st.Get(ctx, key, nil); !errors.Is(gerr, kvcore.ErrInvalidKey) {
				t.Fatalf("Get(%q) = %v, want ErrInvalidKey", key, gerr)
			}
			checkUnchanged(t, st, keep, "refused Put")
			return
		}
		r, ok, err := st.Get(ctx, key, nil)
		if err != nil || !ok || r.Key != key || string(r.Value) != string(value) || r.Version != 1 {
			t.Fatalf("Get(%q) = %+v, %v, %v", key, r, ok, err)
		}
		batch, err := st.GetBatch(ctx, key, sentinelKey)
		if err != nil || len(batch) != 2 {
			t.Fatalf("GetBatch(%q) = %+v, %v", key, batch, err)
		}
		pre, err := st.GetPrefix(ctx, key, 0, 0)
		if err != nil || len(pre) == 0 || pre[0].Key != key {
			t.Fatalf("GetPrefix(%q) = %+v, %v", key, pre, err)
		}
		if n, err := st.Delete(ctx, key); err != nil || n != 1 {
			t.Fatalf("Delete(%q) = %d, %v", key, n, err)
		}
		checkUnchanged(t, st, keep, "put and delete")
	})
}

var valueSeeds = []string{
	`{}`, `[]`, `null`, `0`, `-0`, `1e400`, `123456789012345678901234567890`, `"a\u0000b"`, `"\ud800"`,
	"\"a\xffb\"", "\"a\x00b\"", ` { "a" : [ 1 , 2 ] } `, `{"a":1,"a":2}`, `{"a":`, `{"a":1} {"b":2}`, `nope`,
	``, `"` + strings.Repeat("x", 300) + `"`, `[[[[[[[[[[]]]]]]]]]]`, "\t\"tab\"\n", `"\u2028"`, `1.0`,
	`"'; DROP TABLE kv; --"`, `{"":null}`, `[` + strings.Repeat(" ", 600) + `]`,
}

// valueLimit is the largest value of the value fuzzer's store, small so that
// the limit is met often.
const valueLimit = 256

// FuzzStoreValues: an accepted value reads back as json.Compact of the
// input; a refused one wraps ErrInvalidValue and changes nothing.
func FuzzStoreValues(f *testing.F) {
	for _, v := range valueSeeds {
		f.Add([]byte(v))
	}
	_, st := openMemory(f, kvcore.WithMaxValueSize(valueLimit))
	keep := sentinel(f, st)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, in []byte) {
		err := st.Put(ctx, "v", -1, json.RawMessage(in))
		var want bytes.Buffer
		ok := len(in) <= 2*valueLimit && json.Valid(in) && utf8.Valid(in) &&
			json.Compact(&want, in) == nil && want.Len() <= valueLimit
		if ok != (err == nil) {
			t.Fatalf("Put(%q) = %v, want ok=%v", in, err, ok)
		}
		if err != nil {
			if !errors.Is(err, kvcore.ErrInvalidValue) {
				t.Fatalf("Put(%q) = %v, want ErrInvalidValue", in, err)
			}
			checkUnchanged(t, st, keep, "refused Put")
			return
		}
		r, err := st.GetRecord(ctx, "v")
		if err != nil || !bytes.Equal(r.Value, want.Bytes()) {
			t.Fatalf("Put(%q) read back %q (%v), want %q", in, r.Value, err, want.Bytes())
		}
		if _, err := st.Delete(ctx, "v"); err != nil {
			t.Fatal(err)
		}
		checkUnchanged(t, st, keep, "put and delete")
	})
}

// FuzzStorePatch: a patch of a stored document gives valid JSON, applying it
// again changes nothing (outside the documented corner of nulls inside
// arrays), and a refused patch changes nothing.
func FuzzStorePatch(f *testing.F) {
	f.Add(`{"a":1}`, `{"a":null,"b":[1]}`)
	f.Add(`{"a":{"b":1}}`, `{"a":{"b":null,"c":{"d":null}}}`)
	f.Add(`[1,2]`, `{"x":1}`)
	f.Add(`{"a":1}`, `"replace"`)
	f.Add(`{"a":1}`, `{"a":`)
	f.Add(`{"a":1}`, `{"big":"`+strings.Repeat("x", 300)+`"}`)
	_, st := openMemory(f, kvcore.WithMaxValueSize(valueLimit))
	keep := sentinel(f, st)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, doc, patch string) {
		if err := st.Put(ctx, "p", -1, json.RawMessage(doc)); err != nil {
			return // not a storable document: FuzzStoreValues covers it
		}
		defer func() {
			if _, err := st.Delete(ctx, "p"); err != nil {
				t.Fatal(err)
			}
			checkUnchanged(t, st, keep, "patch")
		}()
		before, err := st.GetRecord(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		err = st.Patch(ctx, "p", -1, json.RawMessage(patch))
		if err != nil {
			if !errors.Is(err, kvcore.ErrInvalidValue) {
				t.Fatalf("Patch(%s, %q) = %v, want ErrInvalidValue", doc, patch, err)
			}
			if after, _ := st.GetRecord(ctx, "p"); after.Version != before.Version || !bytes.Equal(after.Value, before.Value) {
				t.Fatalf("refused Patch(%s, %q) changed the record to %s", doc, patch, after.Value)
			}
			return
		}
		once, err := st.GetRecord(ctx, "p")
		if err != nil || !json.Valid(once.Value) || once.Version != before.Version+1 {
			t.Fatalf("Patch(%s, %q) = %+v, %v", doc, patch, once, err)
		}
		if err := st.Patch(ctx, "p", -1, json.RawMessage(patch)); err != nil {
			t.Fatalf("second Patch(%q): %v", patch, err)
		}
		twice, err := st.GetRecord(ctx, "p")
		if err != nil || !bytes.Equal(twice.Value, once.Value) {
			t.Fatalf("Patch %q is not idempotent on %s: %s then %s (%v)", patch, doc, once.Value, twice.Value, err)
		}
	})
}

// FuzzCursors: for a random key set, paging AllPrefix with StartAfter and
// PageSize, and paging GetPrefix with offset and limit, both give exactly
// GetPrefix of everything, which is exactly the keys with the prefix in
// byte order.
func FuzzCursors(f *testing.F) {
	f.Add("a,b,c,ab,abc,b\U0010FFFF,\U0010FFFF", "a", uint8(1))
	f.Add("x%,x_,x\\,x,xa,y", "x", uint8(2))
	f.Add("é,ê,e,ez,é\U0010FFFF", "é", uint8(3))
	f.Add("k1,k2,k3,k4,k5,k6,k7", "", uint8(2))
	f.Add("\ud7ff,\ue000,\uffff,\U00010000", "\ud7ff", uint8(1))
	f.Add("a\xff,a,b", "a", uint8(0))
	_, st := openMemory(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, keyList, prefix string, size uint8) {
		if kvcore.ValidatePrefix(prefix) != nil {
			return
		}
		pageSize := int(size%8) + 1
		seen := map[string]bool{}
		var ms []kvcore.Mutation
		var want []string
		for _, k := range strings.Split(keyList, ",") {
			if kvcore.ValidateKey(k) != nil || seen[k] || len(ms) == 64 {
				continue
			}
			seen[k] = true
			ms = append(ms, kvcore.Put(k, -1, json.RawMessage(`1`)))
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		slices.Sort(want) // byte order
		if len(ms) == 0 {
			return
		}
		if _, err := st.MutateAll(ctx, ms...); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if _, err := st.DeleteAll(ctx); err != nil {
				t.Fatal(err)
			}
		}()
		all, err := st.GetPrefix(ctx, prefix, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(all); !slices.Equal(got, want) {
			t.Fatalf("GetPrefix(%q) = %q, want %q", prefix, got, want)
		}
		// Cursor pages: each call reads one page after the last key seen.
		var paged []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("cursor paging does not end: %q", paged)
			}
			var opts []kvcore.IterOption
			opts = append(opts, kvcore.PageSize(pageSize))
			if after != "" {
				opts = append(opts, kvcore.StartAfter(after))
			}
			n := 0
			for r, err := range st.AllPrefix(ctx, prefix, opts...) {
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, r.Key)
				after = r.Key
				if n++; n == pageSize {
					break
				}
			}
			if n < pageSize {
				break
			}
		}
		if !slices.Equal(paged, want) {
			t.Fatalf("AllPrefix(%q) pages of %d = %q, want %q", prefix, pageSize, paged, want)
		}
		// Offset pages.
		var offPaged []string
		for off := 0; off <= len(want); off += pageSize {
			page, err := st.GetPrefix(ctx, prefix, off, pageSize)
			if err != nil {
				t.Fatal(err)
			}
			offPaged = append(offPaged, keys(page)...)
		}
		if !slices.Equal(offPaged, want) {
			t.Fatalf("GetPrefix(%q) offset pages of %d = %q, want %q", prefix, pageSize, offPaged, want)
		}
		if n, err := st.CountPrefix(ctx, prefix); err != nil || n != len(want) {
			t.Fatalf("CountPrefix(%q) = %d, %v, want %d", prefix, n, err, len(want))
		}
	})
}

func keys(rs []kvcore.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key
	}
	return out
}
