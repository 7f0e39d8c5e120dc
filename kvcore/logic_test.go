package kvcore

import (
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
		// The library's one deviation from RFC 7396 (documented on Patch):
		// null members of objects nested in a patch's arrays are dropped.
		{`{"a":[1,{"b":1}]}`, true, `{"a":[{"c":null,"d":1}]}`, `{"a":[{"d":1}]}`},
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
