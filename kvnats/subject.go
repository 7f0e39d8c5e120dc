package kvnats

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidSubject: a subject that Subject does not produce (a different
// prefix, too few tokens, a bad escape, or an escape where none is needed).
var ErrInvalidSubject = errors.New("not a kvnats subject")

// The escape of a subject token: every byte outside [A-Za-z0-9_-] is
// written as '%' and two upper-case hex digits; the empty string is
// written "_", so the one-byte string "_" is escaped ("%5F").
const (
	escapeChar = '%'
	emptyToken = "_"
	hexDigits  = "0123456789ABCDEF"
)

// tokenByte reports whether b stands for itself in a subject token.
func tokenByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_'
}

// headerByte reports whether b stands for itself in a header value:
// printable ASCII and any byte of a multi-byte UTF-8 sequence, but not
// space (header values lose leading and trailing spaces) nor '%'.
func headerByte(b byte) bool {
	return b > ' ' && b != 0x7f && b != escapeChar
}

// escape writes s with every byte that keep rejects as %XX.
func escape(s string, keep func(byte) bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !keep(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; keep(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte(escapeChar)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// unescape inverts escape(s, keep). It accepts only what escape writes:
// bytes keep accepts, and %XX (upper-case hex) for the others.
func unescape(s string, keep func(byte) bool) (string, error) {
	if !strings.Contains(s, string(escapeChar)) {
		for i := 0; i < len(s); i++ {
			if !keep(s[i]) {
				return "", fmt.Errorf("byte %#02x at %d must be escaped", s[i], i)
			}
		}
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == escapeChar:
			if i+2 >= len(s) {
				return "", fmt.Errorf("escape at %d is cut short", i)
			}
			hi, lo := strings.IndexByte(hexDigits, s[i+1]), strings.IndexByte(hexDigits, s[i+2])
			if hi < 0 || lo < 0 {
				return "", fmt.Errorf("escape %q at %d: want %% and two upper-case hex digits", s[i:i+3], i)
			}
			d := byte(hi<<4 | lo)
			if keep(d) {
				return "", fmt.Errorf("escape %q at %d stands for %q, which is written as itself", s[i:i+3], i, d)
			}
			b.WriteByte(d)
			i += 2
		case keep(c):
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("byte %#02x at %d must be escaped", c, i)
		}
	}
	return b.String(), nil
}

// Token returns s as one subject token: the bytes A-Z, a-z, 0-9, '-' and
// '_' as themselves, every other byte (a '.', '*', '>', a space, a '%',
// each byte of a non-ASCII character...) as '%' and two upper-case hex
// digits, the empty string as "_" and the string "_" as "%5F". Different
// strings give different tokens, and a token is never empty, never a
// wildcard, and never contains a '.' or white space. ParseToken inverts
// it.
func Token(s string) string {
	switch s {
	case "":
		return emptyToken
	case emptyToken:
		return "%5F"
	}
	return escape(s, tokenByte)
}

// ParseToken returns the string that Token turned into t. A t that Token
// does not produce is an error wrapping ErrInvalidSubject.
func ParseToken(t string) (string, error) {
	switch t {
	case emptyToken:
		return "", nil
	case "%5F":
		return emptyToken, nil
	case "":
		return "", fmt.Errorf("%w: empty token", ErrInvalidSubject)
	}
	s, err := unescape(t, tokenByte)
	if err != nil {
		return "", fmt.Errorf("%w: token %q: %v", ErrInvalidSubject, t, err)
	}
	return s, nil
}

// ValidatePrefix reports whether p can start a subject: one or more
// tokens of the bytes A-Z, a-z, 0-9, '-' and '_', separated by dots (for
// example "kv" or "acme.kv"). A bad prefix is an error wrapping
// ErrInvalidArgument.
func ValidatePrefix(p string) error {
	if p == "" {
		return fmt.Errorf("%w: subject prefix is empty", ErrInvalidArgument)
	}
	for t := range strings.SplitSeq(p, ".") {
		if t == "" {
			return fmt.Errorf("%w: subject prefix %q has an empty token", ErrInvalidArgument, p)
		}
		for i := 0; i < len(t); i++ {
			if !tokenByte(t[i]) {
				return fmt.Errorf("%w: subject prefix %q: %q is not allowed (only A-Z, a-z, 0-9, '-', '_' and '.' between tokens)", ErrInvalidArgument, p, t[i])
			}
		}
	}
	return nil
}

// KeySeparator splits a key into subject tokens: the key "user/42/profile"
// is published on <prefix>.<namespace>.user.42.profile.
const KeySeparator = "/"

// Subject returns the subject that an entry of namespace and key is
// published on: prefix, the namespace as one Token, then each part of the
// key between KeySeparators as a Token, joined by dots. For example, with
// prefix "kv", the default namespace "" and the key "user/42" it is
// "kv._.user.42"; the key "a.b/*" in namespace "orders" gives
// "kv.orders.a%2Eb.%2A". Different (namespace, key) pairs give different
// subjects, and ParseSubject inverts it. A bad prefix is an error (see
// ValidatePrefix).
func Subject(prefix, namespace, key string) (string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return "", err
	}
	return subject(prefix, namespace, key), nil
}

// subject is Subject for a valid prefix.
func subject(prefix, namespace, key string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(namespace) + len(key) + 8)
	b.WriteString(prefix)
	b.WriteByte('.')
	b.WriteString(Token(namespace))
	for part := range strings.SplitSeq(key, KeySeparator) {
		b.WriteByte('.')
		b.WriteString(Token(part))
	}
	return b.String()
}

// ParseSubject returns the namespace and key that Subject(prefix, ...)
// turned into subject. A subject Subject does not produce is an error
// wrapping ErrInvalidSubject; a bad prefix, one wrapping
// ErrInvalidArgument.
func ParseSubject(prefix, subject string) (namespace, key string, err error) {
	if err := ValidatePrefix(prefix); err != nil {
		return "", "", err
	}
	rest, ok := strings.CutPrefix(subject, prefix+".")
	if !ok {
		return "", "", fmt.Errorf("%w: %q does not start with %q", ErrInvalidSubject, subject, prefix+".")
	}
	tokens := strings.Split(rest, ".")
	if len(tokens) < 2 {
		return "", "", fmt.Errorf("%w: %q has no key after the namespace", ErrInvalidSubject, subject)
	}
	if namespace, err = ParseToken(tokens[0]); err != nil {
		return "", "", err
	}
	parts := make([]string, len(tokens)-1)
	for i, t := range tokens[1:] {
		p, err := ParseToken(t)
		if err != nil {
			return "", "", err
		}
		if strings.Contains(p, KeySeparator) {
			return "", "", fmt.Errorf("%w: token %q holds the key separator %q", ErrInvalidSubject, t, KeySeparator)
		}
		parts[i] = p
	}
	return namespace, strings.Join(parts, KeySeparator), nil
}

// headerValue returns s as a header value: as it is, except '%', space,
// control bytes and DEL, written as '%' and two upper-case hex digits.
func headerValue(s string) string { return escape(s, headerByte) }

// ParseHeader returns the string that kvnats wrote as the value v of a
// header that may need escaping (HeaderNamespace, HeaderKey, HeaderType):
// '%' followed by two upper-case hex digits stands for that byte (kvnats
// escapes '%', space, control bytes and DEL), every other byte for
// itself. A value kvnats does not write is an error wrapping
// ErrInvalidArgument.
func ParseHeader(v string) (string, error) {
	s, err := unescape(v, headerByte)
	if err != nil {
		return "", fmt.Errorf("%w: header value %q: %v", ErrInvalidArgument, v, err)
	}
	return s, nil
}
