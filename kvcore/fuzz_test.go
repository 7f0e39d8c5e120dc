package kvcore

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz tests of kvcore's pure functions: the key rules, the prefix bound and
// the merge patch. The store-level fuzz tests (round trips through a real
// backend) live in github.com/kvsuite/kv/reliability/badinput, because
// kvcore must not depend on a backend. Run one for a while with e.g.
//
//	go test -run '^$' -fuzz FuzzValidateKey -fuzztime 60s ./kvcore
//
// Without -fuzz the seeds below (and testdata/fuzz) run as normal tests.

// maxErrorLen bounds an error message about a bad key: the key is quoted
// short, never echoed whole.
const maxErrorLen = 400

// keySeeds are tricky keys for every key fuzzer.
var keySeeds = []string{
	"", "a", "user:1", "a\x00b", "\x00", "a\xffb", "\xc0\x80", "\xed\xa0\x80",
	strings.Repeat("k", MaxKeyLen), strings.Repeat("k", MaxKeyLen+1),
	strings.Repeat("é", MaxKeyLen/2), strings.Repeat("é", MaxKeyLen/2) + "x",
	"'; DROP TABLE kv; --", "%", "_", "a%b_c", `\`, "\U0010FFFF", "\uFFFF",
	" ", "\t\n", "-", "--", "*", "😀", "\u202e",
}

// wantKeyOK is the key rule written out independently of checkText.
func wantKeyOK(key string) bool {
	return key != "" && len(key) <= MaxKeyLen && utf8.ValidString(key) && !strings.ContainsRune(key, 0)
}

func FuzzValidateKey(f *testing.F) {
	for _, k := range keySeeds {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := ValidateKey(key)
		if ok := wantKeyOK(key); ok != (err == nil) {
			t.Fatalf("ValidateKey(%q) = %v, want ok=%v", key, err, ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("ValidateKey(%q) = %v, does not wrap ErrInvalidKey", key, err)
		}
		checkErrLen(t, err)

		// A prefix follows the same rule, except that "" is allowed.
		perr := ValidatePrefix(key)
		if ok := key == "" || wantKeyOK(key); ok != (perr == nil) {
			t.Fatalf("ValidatePrefix(%q) = %v, want ok=%v", key, perr, ok)
		}
		if perr != nil && !errors.Is(perr, ErrInvalidKey) {
			t.Fatalf("ValidatePrefix(%q) = %v, does not wrap ErrInvalidKey", key, perr)
		}
		checkErrLen(t, perr)

		// A name too, but its error is ErrInvalidArgument.
		nerr := ValidateName("lease name", key)
		if ok := wantKeyOK(key); ok != (nerr == nil) {
			t.Fatalf("ValidateName(%q) = %v, want ok=%v", key, nerr, ok)
		}
		if nerr != nil && (!errors.Is(nerr, ErrInvalidArgument) || !strings.Contains(nerr.Error(), "lease name")) {
			t.Fatalf("ValidateName(%q) = %v, want ErrInvalidArgument naming the argument", key, nerr)
		}
		checkErrLen(t, nerr)
	})
}

func FuzzValidateRange(f *testing.F) {
	f.Add("", "b")
	f.Add("a", "")
	f.Add("b", "a")
	f.Add("a", "a")
	f.Add("a\x00", "b")
	f.Add("a", "b\xff")
	f.Add(strings.Repeat("a", MaxKeyLen+1), "b")
	f.Fuzz(func(t *testing.T, from, to string) {
		err := ValidateRange(from, to)
		fromOK := from == "" || wantKeyOK(from)
		ok := fromOK && wantKeyOK(to) && from <= to
		if ok != (err == nil) {
			t.Fatalf("ValidateRange(%q, %q) = %v, want ok=%v", from, to, err, ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("ValidateRange(%q, %q) = %v, does not wrap ErrInvalidKey", from, to, err)
		}
		checkErrLen(t, err)
	})
}

func checkErrLen(t *testing.T, err error) {
	t.Helper()
	if err != nil && len(err.Error()) > maxErrorLen {
		t.Fatalf("error of %d bytes echoes too much: %.100q...", len(err.Error()), err.Error())
	}
}

// FuzzPrefixEnd: for every valid prefix p and string s, s has the prefix
// exactly when p <= s < prefixEnd(p) (or p <= s when there is no bound).
func FuzzPrefixEnd(f *testing.F) {
	for _, k := range keySeeds {
		f.Add(k, k+"x")
	}
	f.Add("a", "b")
	f.Add("x\U0010FFFF", "x\U0010FFFF\U0010FFFF")
	f.Add("\U0010FFFF", "\U0010FFFFa")
	f.Add("\ud7ff", "\ue000")
	f.Fuzz(func(t *testing.T, p, s string) {
		if !utf8.ValidString(p) || !utf8.ValidString(s) {
			return // keys and prefixes are UTF-8: validation refuses others first
		}
		end, ok := prefixEnd(p)
		if ok && (!utf8.ValidString(end) || end <= p) {
			t.Fatalf("prefixEnd(%q) = %q: not valid UTF-8 or not after the prefix", p, end)
		}
		if ok != (strings.Trim(p, "\U0010FFFF") != "") {
			t.Fatalf("prefixEnd(%q) ok = %v", p, ok)
		}
		has := strings.HasPrefix(s, p)
		in := s >= p && (!ok || s < end)
		if has != in {
			t.Fatalf("prefix %q, bound %q (%v): %q has the prefix: %v, in the bounds: %v", p, end, ok, s, has, in)
		}
	})
}

// FuzzEncode: an accepted value is stored as json.Compact of the input; a
// refused one wraps ErrInvalidValue.
func FuzzEncode(f *testing.F) {
	for _, v := range valueSeeds {
		f.Add([]byte(v))
	}
	const limit = 64
	s := &Store{shared: &shared{maxValueSize: limit}}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := s.encode(json.RawMessage(in))
		var want bytes.Buffer
		// Input over twice the limit is refused before compacting (a
		// documented shortcut), even if it would compact small enough.
		valid := len(in) <= 2*limit && json.Valid(in) && utf8.Valid(in) &&
			json.Compact(&want, in) == nil && want.Len() <= limit
		if valid != (err == nil) {
			t.Fatalf("encode(%q) = %q, %v; want ok=%v", in, out, err, valid)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("encode(%q) = %v, does not wrap ErrInvalidValue", in, err)
			}
			checkErrLen(t, err)
			return
		}
		if !bytes.Equal(out, want.Bytes()) {
			t.Fatalf("encode(%q) = %q, want %q", in, out, want.Bytes())
		}
	})
}

// valueSeeds are tricky JSON (and not-JSON) documents.
var valueSeeds = []string{
	`{}`, `[]`, `null`, `0`, `-0`, `1e400`, `123456789012345678901234567890`,
	`"a\u0000b"`, `"\ud800"`, `"\xff"`, ` { "a" : [ 1 , 2 ] } `, `{"a":1,"a":2}`,
	`{"a":`, `{"a":1} {"b":2}`, `nope`, ``, `"` + strings.Repeat("x", 70) + `"`,
	`[[[[[[[[[[]]]]]]]]]]`, `{"":null}`, "\t\"tab\"\n", `"\u2028"`, `1.0`, `true`,
}

// patchSeeds are pairs of a document and a merge patch.
var patchSeeds = [][2]string{
	{`{"a":1}`, `{"a":null}`},
	{`{"a":{"b":1,"c":2}}`, `{"a":{"b":null,"d":3}}`},
	{`{"a":[1,2]}`, `{"a":[3]}`},
	{`[1]`, `{"a":1}`},
	{`{"a":1}`, `[1]`},
	{`{"a":1}`, `"s"`},
	{`{"a":1}`, `null`},
	{`{"a":{"b":{}}}`, `{"a":{"b":{"c":null}}}`},
	{`{}`, `{"a":{"b":null}}`},
	{`{"a":null}`, `{"b":1}`},
	{`{"a":1.50}`, `{"b":12345678901234567890}`},
	{`{"a":{}}`, `{"a":[{"x":null}]}`},
	{`{}`, `{"a":[{"x":null}]}`},
	{`{"a":"x"}`, `{"a":{"b":null,"c":[null]}}`},
	{`{"😀":1}`, `{"😀":null,"\u0000":2}`},
	{`{"a":[{"x":null}]}`, `{"a":[{"x":null}]}`},
	{`{"b":2,"a":1}`, `{"c":[null,{"y":null}]}`},
	{`{"z":1,"y":2}`, `{"c":1,"y":null,"b":[[{"n":null}]],"a":{"k":null}}`},
	{`{"a":1,"a":2}`, `{"b":{"x":1},"b":{"y":null}}`},
	{`{"\u0041":1}`, `{"A":null,"<":1.0}`},
}

func FuzzMergePatch(f *testing.F) {
	for _, p := range patchSeeds {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, doc, patch string) {
		d, ok1 := compactValid(doc)
		p, ok2 := compactValid(patch)
		if !ok1 || !ok2 {
			return // encode refuses these before a merge
		}
		got, err := mergePatch(d, true, p)
		if err != nil {
			t.Fatalf("mergePatch(%s, %s): %v", d, p, err)
		}
		if c, ok := compactValid(string(got)); !ok || !bytes.Equal(c, got) {
			t.Fatalf("mergePatch(%s, %s) = %s, not compact JSON", d, p, got)
		}
		want := rfc7396(decode(t, d), decode(t, p))
		gotV := decode(t, got)
		if !reflect.DeepEqual(gotV, want) {
			t.Fatalf("mergePatch(%s, %s) = %s, RFC 7396 gives %s", d, p, got, encode(t, want))
		}
		if wantNames := mergedNames(t, d, p); !reflect.DeepEqual(memberNames(t, got), wantNames) {
			t.Fatalf("mergePatch(%s, %s) = %s, want members in the order %q", d, p, got, wantNames)
		}
		again, err := mergePatch(got, true, p)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("patch %s is not idempotent on %s: %s then %s (%v)", p, d, got, again, err)
		}
		// A missing record is patched as {}.
		fromNothing, err := mergePatch(nil, false, p)
		if err != nil || !reflect.DeepEqual(decode(t, fromNothing), rfc7396(map[string]any{}, decode(t, p))) {
			t.Fatalf("mergePatch(missing, %s) = %s, %v", p, fromNothing, err)
		}
	})
}

// compactValid returns s compacted if it is a JSON document in UTF-8, as
// encode would store it.
func compactValid(s string) ([]byte, bool) {
	var buf bytes.Buffer
	if !utf8.ValidString(s) || !json.Valid([]byte(s)) || json.Compact(&buf, []byte(s)) != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func encode(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rfc7396 is the MergePatch pseudo-code of RFC 7396, section 2, on decoded
// JSON values; kvcore applies it to a record's value.
func rfc7396(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	out := map[string]any{}
	if ok {
		for k, v := range tm {
			out[k] = v
		}
	}
	for k, v := range pm {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = rfc7396(out[k], v)
		}
	}
	return out
}

// memberNames returns the names of the members of the JSON object b, in
// order, each once, or nil if b is not an object.
func memberNames(t *testing.T, b []byte) []string {
	t.Helper()
	if !isObject(b) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	names, seen := []string{}, map[string]bool{}
	for depth := 0; ; {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("names of %s: %v", b, err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			if depth--; depth == 0 {
				return names
			}
		default:
			if name, ok := tok.(string); ok && depth == 1 && !seen[name] {
				names, seen[name] = append(names, name), true
			}
			if depth == 1 {
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					t.Fatalf("names of %s: %v", b, err)
				}
			}
		}
	}
}

// mergedNames is the order of the members of doc merged with patch: doc's
// that the patch does not delete, then the patch's new ones.
func mergedNames(t *testing.T, doc, patch []byte) []string {
	t.Helper()
	pv, ok := decode(t, patch).(map[string]any)
	if !ok {
		return memberNames(t, patch)
	}
	names, seen := []string{}, map[string]bool{}
	for _, n := range append(memberNames(t, doc), memberNames(t, patch)...) {
		v, inPatch := pv[n]
		if !seen[n] && (!inPatch || v != nil) {
			names = append(names, n)
		}
		seen[n] = true
	}
	return names
}
