package kvcore

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/kvsuite/kv/kvcore/driver"
)

// Errors returned by Store. Test for them with errors.Is.
var (
	// ErrVersionMismatch: the expected version of a Put, Patch, Delete or
	// mutation did not hold. Nothing was changed.
	ErrVersionMismatch = driver.ErrVersionMismatch
	// ErrFenced: a fenced write's lease was no longer held with its token.
	ErrFenced = driver.ErrFenced
	// ErrNotInitialized: the store's schema is missing; call Init.
	ErrNotInitialized = driver.ErrNotInitialized
	// ErrClosed: the store was closed.
	ErrClosed = driver.ErrClosed
	// ErrNotFound: a read or update that needs the key found none.
	ErrNotFound = errors.New("key not found")
	// ErrInvalidKey: a key (or prefix, or range bound) is not acceptable.
	ErrInvalidKey = errors.New("invalid key")
	// ErrInvalidValue: a value or patch is not a JSON document, or is too large.
	ErrInvalidValue = errors.New("invalid value")
	// ErrInvalidArgument: some other argument (offset, limit, version, TTL,
	// type name, namespace) is not acceptable.
	ErrInvalidArgument = driver.ErrInvalidArgument
	// ErrVersionLimit: a Put, Patch or mutation would take a record past
	// MaxVersion. It wraps ErrInvalidArgument, not ErrVersionMismatch: the
	// write can never succeed as it is, so a loop that retries on a
	// mismatch does not spin on it. Nothing was changed. Touch and Delete
	// still work on the record; after a Delete its key starts again at
	// version 1.
	ErrVersionLimit = driver.ErrVersionLimit
)

// MaxVersion is the highest version a record can have (the largest int64).
// Restore accepts versions up to MaxVersion-1, so that every restored record
// can be written at least once.
const MaxVersion = driver.MaxVersion

// MaxKeyLen is the largest key, in bytes.
const MaxKeyLen = 1024

// MinTime and MaxTime bound every time kv stores: created, updated and
// expiry times, lease expiries, and the clock's reading when it is stored.
// Every backend stores the years 1 to 9999 exactly, to the microsecond
// (SQLite and rqlite as Unix microseconds, PostgreSQL as timestamptz), and
// RFC 3339 (kv export, JSON) writes no others. MinTime is the first
// microsecond after the zero time, which means "no time" (no expiry).
var (
	MinTime = time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// MaxValueSizeLimit is the largest maximum value size (WithMaxValueSize):
// about the largest field SQLite (1,000,000,000 bytes by default) and
// PostgreSQL (1 GiB) store.
const MaxValueSizeLimit = 1_000_000_000

// ValidateTime reports whether t is a time kv can store: from MinTime to
// MaxTime. what names it in the error, which wraps ErrInvalidArgument and
// gives the bounds.
func ValidateTime(what string, t time.Time) error {
	if t.Before(MinTime) || t.After(MaxTime) {
		return invalidArg("%s %s is outside the times kv stores, %s to %s", what, formatTime(t),
			MinTime.Format(time.RFC3339Nano), MaxTime.Format(time.RFC3339Nano))
	}
	return nil
}

// formatTime writes t as RFC 3339 in UTC, or with Go's format for a year
// RFC 3339 cannot write.
func formatTime(t time.Time) string {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return t.String()
	}
	return t.Format(time.RFC3339Nano)
}

// DefaultMaxValueSize is the default largest value, in bytes.
const DefaultMaxValueSize = 16 << 20

func invalidKey(key, why string) error {
	return fmt.Errorf("%w %s: %s", ErrInvalidKey, quoteShort(key), why)
}

func invalidArg(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// quoteShort quotes s for an error message, cutting it if it is long.
func quoteShort(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q... (%d bytes)", s[:max], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// checkText is the rule for every name stored as text: keys, prefixes, range
// bounds, type names and namespaces. It must be valid UTF-8 without NUL
// (PostgreSQL text cannot hold NUL) and at most MaxKeyLen bytes.
func checkText(s string) string {
	switch {
	case len(s) > MaxKeyLen:
		return fmt.Sprintf("longer than %d bytes", MaxKeyLen)
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return "contains a NUL byte"
		}
	}
	return ""
}

// ValidateKey reports whether key is acceptable: a non-empty UTF-8 string of
// at most MaxKeyLen bytes without NUL. No character is special.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: key is empty", ErrInvalidKey)
	}
	if why := checkText(key); why != "" {
		return invalidKey(key, why)
	}
	return nil
}

// ValidatePrefix reports whether prefix is acceptable: UTF-8 without NUL, at
// most MaxKeyLen bytes. The empty prefix matches every key.
func ValidatePrefix(prefix string) error {
	if why := checkText(prefix); why != "" {
		return fmt.Errorf("%w: prefix %s: %s", ErrInvalidKey, quoteShort(prefix), why)
	}
	return nil
}

// ValidateRange reports whether [from, to) is an acceptable half-open range:
// from may be "" (the start of the keyspace), to must be a key, and from must
// not be after to.
func ValidateRange(from, to string) error {
	if why := checkText(from); why != "" {
		return fmt.Errorf("%w: range start %s: %s", ErrInvalidKey, quoteShort(from), why)
	}
	if to == "" {
		return fmt.Errorf("%w: range end is empty (ranges are [from, to); use List or DeleteAll for everything)", ErrInvalidKey)
	}
	if why := checkText(to); why != "" {
		return fmt.Errorf("%w: range end %s: %s", ErrInvalidKey, quoteShort(to), why)
	}
	if from > to {
		return fmt.Errorf("%w: range start %s is after range end %s", ErrInvalidKey, quoteShort(from), quoteShort(to))
	}
	return nil
}

func validatePage(offset, limit int) error {
	if offset < 0 {
		return invalidArg("offset %d is negative", offset)
	}
	if limit < 0 {
		return invalidArg("limit %d is negative", limit)
	}
	return nil
}

func validateVersion(v int64) error {
	if v < -1 {
		return invalidArg("version %d: want -1 (any), 0 (must not exist) or a version > 0", v)
	}
	return nil
}

// ValidateName checks a name that is not a key (a lease, owner, consumer or
// task name): non-empty, valid UTF-8, no NUL, at most MaxKeyLen bytes. what
// names the argument in the error, which wraps ErrInvalidArgument.
func ValidateName(what, name string) error {
	if name == "" {
		return invalidArg("%s is empty", what)
	}
	if why := checkText(name); why != "" {
		return invalidArg("%s %s: %s", what, quoteShort(name), why)
	}
	return nil
}

// ValidateNamespace reports whether ns is an acceptable namespace: a UTF-8
// string of at most MaxKeyLen bytes without NUL ("" is the default
// namespace). Its error wraps ErrInvalidArgument and calls ns a namespace.
func ValidateNamespace(ns string) error {
	if why := checkText(ns); why != "" {
		return invalidArg("namespace %s: %s", quoteShort(ns), why)
	}
	return nil
}

func validateTypeName(t string) error {
	if why := checkText(t); why != "" {
		return invalidArg("type name %s: %s", quoteShort(t), why)
	}
	return nil
}

// prefixEnd returns the smallest string greater than every string that starts
// with prefix, and false if there is none (the prefix is empty or all
// U+10FFFF). It increments the last code point (skipping surrogates), so the
// bound is valid UTF-8 and, because UTF-8 byte order is code point order,
// exact under byte-wise comparison.
func prefixEnd(prefix string) (string, bool) {
	for prefix != "" {
		r, size := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-size]
		if r == utf8.MaxRune {
			continue
		}
		r++
		if r == 0xD800 {
			r = 0xE000
		}
		return prefix + string(r), true
	}
	return "", false
}
