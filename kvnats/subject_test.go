package kvnats

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

func TestToken(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"user", "user"},
		{"User-1_x", "User-1_x"},
		{"", "_"},
		{"_", "%5F"},
		{"__", "__"},
		{"a.b", "a%2Eb"},
		{"*", "%2A"},
		{">", "%3E"},
		{"a b", "a%20b"},
		{"%", "%25"},
		{"%25", "%2525"},
		{"é", "%C3%A9"},
		{"\x00\x7f", "%00%7F"},
		{"tab\there", "tab%09here"},
		{"a/b:c", "a%2Fb%3Ac"},
	} {
		got := Token(tt.in)
		if got != tt.want {
			t.Errorf("Token(%q) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := ParseToken(got)
		if err != nil || back != tt.in {
			t.Errorf("ParseToken(%q) = %q, %v; want %q", got, back, err, tt.in)
		}
	}
}

func TestSubject(t *testing.T) {
	for _, tt := range []struct{ prefix, ns, key, want string }{
		{"kv", "", "user/42", "kv._.user.42"},
		{"kv", "orders", "a.b/*", "kv.orders.a%2Eb.%2A"},
		{"acme.kv", "ns 1", ">", "acme.kv.ns%201.%3E"},
		{"kv", "", "a//b", "kv._.a._.b"},
		{"kv", "", "/", "kv._._._"},
		{"kv", "_", "_", "kv.%5F.%5F"},
		{"kv", "", "100%", "kv._.100%25"},
		{"kv", "日本", "キー", "kv.%E6%97%A5%E6%9C%AC.%E3%82%AD%E3%83%BC"},
	} {
		got, err := Subject(tt.prefix, tt.ns, tt.key)
		if err != nil || got != tt.want {
			t.Errorf("Subject(%q, %q, %q) = %q, %v; want %q", tt.prefix, tt.ns, tt.key, got, err, tt.want)
			continue
		}
		ns, key, err := ParseSubject(tt.prefix, got)
		if err != nil || ns != tt.ns || key != tt.key {
			t.Errorf("ParseSubject(%q, %q) = %q, %q, %v; want %q, %q", tt.prefix, got, ns, key, err, tt.ns, tt.key)
		}
	}
}

// TestSeedCollisions: keys that a mapping which turns '/', ':' and '_'
// into dots and drops empty tokens sends to one subject ("user.1") get
// subjects of their own.
func TestSeedCollisions(t *testing.T) {
	keys := []string{"user/1", "user:1", "user_1", "user.1", "user//1", "/user/1", "user/1/", "user::1", "user/_1", "user:/1"}
	seen := map[string]string{}
	for _, k := range keys {
		s, err := Subject("kv", "", k)
		if err != nil {
			t.Fatal(err)
		}
		if other, ok := seen[s]; ok {
			t.Errorf("keys %q and %q share subject %q", other, k, s)
		}
		seen[s] = k
	}
}

func TestParseSubjectRejects(t *testing.T) {
	for _, s := range []string{
		"", "kv", "kv.", "kv._", "other._.a", "kvx._.a", // prefix and token count
		"kv._..a", "kv._.a.", // empty tokens
		"kv._.%41",  // "A" needs no escape
		"kv._.a%5F", // nor does "_" inside a token
		"kv._.%2f",  // lower-case hex
		"kv._.%2",   // cut short
		"kv._.%ZZ",  // not hex
		"kv._.a b",  // a byte that must be escaped
		"kv._.a*",   // ditto
		"kv._.%2F",  // the key separator inside a key token
	} {
		if ns, key, err := ParseSubject("kv", s); !errors.Is(err, ErrInvalidSubject) {
			t.Errorf("ParseSubject(kv, %q) = %q, %q, %v; want ErrInvalidSubject", s, ns, key, err)
		}
	}
	// A namespace may hold the key separator.
	if ns, key, err := ParseSubject("kv", "kv.a%2Fb.c"); err != nil || ns != "a/b" || key != "c" {
		t.Errorf("ParseSubject(kv, kv.a%%2Fb.c) = %q, %q, %v", ns, key, err)
	}
	if _, _, err := ParseSubject("k v", "k v._.a"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("ParseSubject with a bad prefix: %v, want ErrInvalidArgument", err)
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, p := range []string{"kv", "acme.kv", "a-b_c.D9"} {
		if err := ValidatePrefix(p); err != nil {
			t.Errorf("ValidatePrefix(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"", ".", "kv.", ".kv", "a..b", "kv.>", "kv.*", "k v", "$JS", "kv%", "é"} {
		if err := ValidatePrefix(p); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ValidatePrefix(%q) = %v, want ErrInvalidArgument", p, err)
		}
		if _, err := Subject(p, "", "k"); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Subject(%q, ...) = %v, want ErrInvalidArgument", p, err)
		}
	}
}

// checkNATSSubject fails t unless s is a literal NATS subject: non-empty
// tokens separated by dots, no white space, no wildcard token, and only
// the bytes an escaped token may hold.
func checkNATSSubject(t *testing.T, s string) {
	t.Helper()
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" || tok == "*" || tok == ">" {
			t.Fatalf("subject %q has token %q", s, tok)
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; !tokenByte(c) && c != escapeChar {
				t.Fatalf("subject %q holds byte %#02x", s, c)
			}
		}
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		t.Fatalf("subject %q holds white space", s)
	}
}

func FuzzSubjectRoundTrip(f *testing.F) {
	for _, s := range [][2]string{{"", "user/42"}, {"orders", "a.b/*"}, {"_", "_"}, {"", "//"}, {"%", "%25"}, {"日本", "キー >"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, ns, key string) {
		s, err := Subject("kv.test", ns, key)
		if err != nil {
			t.Fatal(err)
		}
		checkNATSSubject(t, s)
		gotNS, gotKey, err := ParseSubject("kv.test", s)
		if err != nil || gotNS != ns || gotKey != key {
			t.Fatalf("ParseSubject(Subject(%q, %q) = %q) = %q, %q, %v", ns, key, s, gotNS, gotKey, err)
		}
	})
}

func FuzzSubjectInjective(f *testing.F) {
	f.Add("", "user/1", "", "user:1")
	f.Add("", "a//b", "", "a/_/b")
	f.Add("a", "b", "a/b", "")
	f.Add("", "_", "", "")
	f.Add("x", "%2E", "x", ".")
	f.Fuzz(func(t *testing.T, ns1, key1, ns2, key2 string) {
		s1, _ := Subject("kv", ns1, key1)
		s2, _ := Subject("kv", ns2, key2)
		if (ns1 != ns2 || key1 != key2) && s1 == s2 {
			t.Fatalf("(%q, %q) and (%q, %q) share subject %q", ns1, key1, ns2, key2, s1)
		}
	})
}

// FuzzParseSubject: every subject ParseSubject accepts is the one Subject
// makes of what it returns, so the mapping is one to one both ways.
func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{"kv._.a", "kv.%5F._", "kv._.%41", "kv.x.a%2Eb.c", "kv._..a", "kv.a.%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, key, err := ParseSubject("kv", s)
		if err != nil {
			if !errors.Is(err, ErrInvalidSubject) {
				t.Fatalf("ParseSubject(%q): %v does not wrap ErrInvalidSubject", s, err)
			}
			return
		}
		if again := subject("kv", ns, key); again != s {
			t.Fatalf("ParseSubject(%q) = %q, %q, whose subject is %q", s, ns, key, again)
		}
	})
}

func FuzzHeaderValue(f *testing.F) {
	for _, s := range []string{"", "a b", " lead", "trail ", "100%", "line\r\nInjected: yes", "é\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := headerValue(s)
		for i := 0; i < len(v); i++ {
			if v[i] <= ' ' || v[i] == 0x7f {
				t.Fatalf("headerValue(%q) = %q holds byte %#02x", s, v, v[i])
			}
		}
		back, err := ParseHeader(v)
		if err != nil || back != s {
			t.Fatalf("ParseHeader(headerValue(%q) = %q) = %q, %v", s, v, back, err)
		}
	})
}
