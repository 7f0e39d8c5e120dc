package postgreskv

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kvsuite/kv/kvcore/driver"
)

// SQLSTATE codes raised by kv_fail (see the migrations).
const (
	codeMismatch = "KVV01"
	codeFenced   = "KVF01"
	codeExpired  = "KVE01"
	codeAgain    = "KVA01"
	codeLimit    = "KVL01"
)

// errFoundExpired is a batch's error when a put's single statement found an
// expired record: nothing of the batch was written, and it is run again
// with the statements that record the removal first (see Apply).
var errFoundExpired = errors.New("postgreskv: a put found an expired record")

// redacted replaces a password in error messages.
const redacted = "xxxxx"

// openError is an error from Open whose message has had every form of the
// connection string's password removed.
type openError struct {
	msg   string
	cause error // nil if the cause's own message holds the password
}

func (e *openError) Error() string { return e.msg }
func (e *openError) Unwrap() error { return e.cause }

// parseError stands for a pgconn.ParseConfigError without its ConnString.
type parseError struct {
	msg   string
	cause error
}

func (e *parseError) Error() string { return e.msg }
func (e *parseError) Unwrap() error { return e.cause }

var (
	urlPasswordRE = regexp.MustCompile(`://[^:/@?#\s]*:([^@\s]*)@`)
	kvPasswordRE  = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*(?:'|$)|[^\s]*)`)
)

// secrets returns every form in which the password of connString (or
// password, from a parsed config) may appear in a message.
func secrets(connString, password string) []string {
	var out []string
	add := func(s string) {
		if s == "" {
			return
		}
		out = append(out, s)
		if e := url.QueryEscape(s); e != s {
			out = append(out, e)
		}
		if e := url.PathEscape(s); e != s {
			out = append(out, e)
		}
	}
	add(password)
	if u, err := url.Parse(connString); err == nil {
		if u.User != nil {
			if pw, ok := u.User.Password(); ok {
				add(pw)
			}
		}
		if q, err := url.ParseQuery(u.RawQuery); err == nil {
			for _, pw := range q["password"] {
				add(pw)
			}
		}
	}
	for _, m := range urlPasswordRE.FindAllStringSubmatch(connString, -1) {
		add(m[1])
		if pw, err := url.PathUnescape(m[1]); err == nil {
			add(pw)
		}
	}
	for _, m := range kvPasswordRE.FindAllStringSubmatch(connString, -1) {
		v := m[1]
		add(v)
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = v[1 : len(v)-1]
			add(v)
			add(strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(v))
		}
	}
	// Longest first, so that a password is replaced before any part of it.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// redactError returns prefix: err with every form of the password removed.
// It keeps err in the chain (for errors.Is/As) only if err's own message does
// not contain the password.
func redactError(prefix string, err error, connString, password string) error {
	msg := err.Error()
	clean := msg
	for _, s := range secrets(connString, password) {
		clean = strings.ReplaceAll(clean, s, redacted)
	}
	e := &openError{msg: prefix + ": " + clean}
	if clean == msg {
		e.cause = err
	}
	return e
}

// The names of the functions kv's schema creates (see the migrations).
const (
	failFunction     = "kv_fail"
	sequenceFunction = "kv_sequence"
)

// mapError turns a database error into the driver's errors.
func (db *DB) mapError(err error) error {
	if err == nil {
		return nil
	}
	if db.closed.Load() {
		return driver.ErrClosed
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "42P01", "3F000": // undefined table, schema
			return fmt.Errorf("%w: %s", driver.ErrNotInitialized, pe.Message)
		case "42883": // undefined function or operator: only kv's own functions mean Init has not run
			if strings.Contains(pe.Message, failFunction+"(") || strings.Contains(pe.Message, sequenceFunction+"(") {
				return fmt.Errorf("%w: %s", driver.ErrNotInitialized, pe.Message)
			}
		case codeFenced:
			return driver.ErrFenced
		}
	}
	return fmt.Errorf("postgreskv: %w", err)
}

// migrationLockKey is the advisory lock key that serializes Init for schema.
func migrationLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/kvsuite/kv/backend-postgres migrate " + schema))
	return int64(h.Sum64())
}

// sequencerLockKey is the advisory lock key that serializes the stream's
// sequencer (and Trim) for schema.
func sequencerLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/kvsuite/kv/backend-postgres sequence " + schema))
	return int64(h.Sum64())
}

// channelName is a NOTIFY channel of schema: prefix (kv_stream for the
// change stream, kv_tasks for the task queue), "." and the schema, or a
// hash of the schema if that would pass PostgreSQL's 63-byte limit.
func channelName(prefix, schema string) string {
	name := prefix
	if schema != "" {
		name += "." + schema
	}
	if len(name) > 63 {
		h := fnv.New64a()
		h.Write([]byte(schema))
		name = fmt.Sprintf("%s.%016x", prefix, h.Sum64())
	}
	return name
}
