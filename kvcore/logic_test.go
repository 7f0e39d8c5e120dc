package kvcore

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrefixEnd(t *testing.T) {
	cases := []struct {
		prefix, want string
		ok           bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"a_", "a`", true},
		{"job/", "job0", true},
		{"\U0010FFFF", "", false},
		{"ab\u00bf", "ab\u00c0", true},
		{"x\ud7ff", "x\ue000", true},
		{"x\U0010FFFF", "y", true},
		{"\U0010FFFF\U0010FFFF", "", false},
		{"é", "ê", true},
	}
	for _, c := range cases {
		got, ok := prefixEnd(c.prefix)
		if got != c.want || ok != c.ok {
			t.Errorf("prefixEnd(%q) = %q, %v; want %q, %v", c.prefix, got, ok, c.want, c.ok)
		}
		if ok && !utf8.ValidString(got) {
			t.Errorf("prefixEnd(%q) = %q is not valid UTF-8", c.prefix, got)
		}
	}
}

// Every string with the prefix sorts below the bound, and every string at
// or above the prefix without it sorts at or above the bound.
func TestPrefixEndBoundsExactly(t *testing.T) {
	alphabet := []string{"a", "b", "\u00bf", "\u00c0", "\ud7ff", "\ue000", "\uffff", "\U00010000", "\U0010FFFF", "_", "%"}
	var all []string
	var gen func(s string, n int)
	gen = func(s string, n int) {
		all = append(all, s)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(s+c, n-1)
		}
	}
	gen("", 3)
	for _, p := range all {
		end, ok := prefixEnd(p)
		for _, s := range all {
			has := strings.HasPrefix(s, p)
			in := s >= p && (!ok || s < end)
			if has != in {
				t.Fatalf("prefix %q bound %q (%v): %q has prefix %v but in range %v", p, end, ok, s, has, in)
			}
		}
	}
}

func TestMergePatch(t *testing.T) {
	cases := []struct {
		doc    string
		exists bool
		patch  string
		want   string
	}{
		{`{"a":{"b":1,"c":2}}`, true, `{"a":{"b":null,"d":3}}`, `{"a":{"c":2,"d":3}}`},
		{``, false, `{"a":null,"b":1}`, `{"b":1}`},
		{`null`, true, `{"a":1}`, `{"a":1}`},
		{`[1,2]`, true, `{"a":1}`, `{"a":1}`},
		{`{"a":1}`, true, `[3]`, `[3]`},
		{`{"a":1}`, true, `"s"`, `"s"`},
		{`{"n":1}`, true, `{"big":123456789012345678901234567890}`, `{"n":1,"big":123456789012345678901234567890}`},
		{`{"a":[1,{"b":1}]}`, true, `{"a":[null,2]}`, `{"a":[null,2]}`},
		// An array in the patch replaces the value as it is, nulls in it
		// and in its objects included, whatever the target held.
		{`{"a":[1,{"b":1}]}`, true, `{"a":[{"c":null,"d":1}]}`, `{"a":[{"c":null,"d":1}]}`},
		{`{"a":{}}`, true, `{"a":[{"x":null}]}`, `{"a":[{"x":null}]}`},
		{`{"a":[{"x":null}]}`, true, `{"a":[{"x":null}]}`, `{"a":[{"x":null}]}`},
		{`{}`, true, `{"a":[{"x":null}]}`, `{"a":[{"x":null}]}`},
		{``, false, `{"a":[[{"x":null}]]}`, `{"a":[[{"x":null}]]}`},
		{`{"b":2,"a":1}`, true, `{"c":[null,{"y":null}]}`, `{"b":2,"a":1,"c":[null,{"y":null}]}`},
		{`{"a":1}`, true, `[{"x":null}]`, `[{"x":null}]`},
		{`{"a":1}`, true, `null`, `null`},
		// Objects merge recursively; one patched onto a non-object (or no
		// member) starts from {}, so its null members vanish.
		{`{"a":{"b":{"c":1,"d":2}}}`, true, `{"a":{"b":{"c":null,"e":[null]}}}`, `{"a":{"b":{"d":2,"e":[null]}}}`},
		{`{"a":[1]}`, true, `{"a":{"b":null,"c":{"d":null},"e":1}}`, `{"a":{"c":{},"e":1}}`},
		{`{"a":null}`, true, `{"a":{"b":1}}`, `{"a":{"b":1}}`},
		{`{"a":1}`, true, `{"x":null}`, `{"a":1}`},
		// The value's members keep their order; new ones follow in the
		// patch's order; names and numbers keep their text.
		{`{"z":1,"y":2,"x":3}`, true, `{"e":5,"y":0,"d":4,"c":3,"z":null}`, `{"y":0,"x":3,"e":5,"d":4,"c":3}`},
		{`{"\u0041":1.50}`, true, `{"A":2.0e0,"<\u00e9>":1E400}`, `{"\u0041":2.0e0,"<\u00e9>":1E400}`},
		// Of duplicate names the last counts, at the first's place.
		{`{"a":1,"b":2,"a":3}`, true, `{"c":1}`, `{"a":3,"b":2,"c":1}`},
		{`{"a":1}`, true, `{"b":{"x":1},"c":0,"b":{"y":2}}`, `{"a":1,"b":{"y":2},"c":0}`},
		{`{"a":1,"b":2}`, true, `{"b":3,"b":null}`, `{"a":1}`},
	}
	for _, c := range cases {
		got, err := mergePatch([]byte(c.doc), c.exists, []byte(c.patch))
		if err != nil {
			t.Fatalf("mergePatch(%s, %s): %v", c.doc, c.patch, err)
		}
		if string(got) != c.want {
			t.Errorf("mergePatch(%s, %s) = %s; want %s", c.doc, c.patch, got, c.want)
		}
	}
}

// A value that is not JSON text (never stored by kvcore) is refused, not
// half merged.
func TestMergePatchBadValue(t *testing.T) {
	for _, doc := range []string{`{"a":`, `{"a":1,}`, `{"a" 1}`, `{"a":1]`} {
		got, err := mergePatch([]byte(doc), true, []byte(`{"b":1}`))
		if !errors.Is(err, ErrInvalidValue) {
			t.Errorf("mergePatch(%s, {\"b\":1}) = %s, %v; want ErrInvalidValue", doc, got, err)
		}
	}
}

func TestValidateKey(t *testing.T) {
	good := []string{"a", "_", "%", "*", "a/b c", "é", strings.Repeat("k", MaxKeyLen)}
	for _, k := range good {
		if err := ValidateKey(k); err != nil {
			t.Errorf("ValidateKey(%q) = %v", k, err)
		}
	}
	bad := []string{"", strings.Repeat("k", MaxKeyLen+1), "a\x00b", "\xff", string([]byte{0xed, 0xa0, 0x80})}
	for _, k := range bad {
		if err := ValidateKey(k); err == nil {
			t.Errorf("ValidateKey(%q) = nil, want an error", k)
		}
	}
}
