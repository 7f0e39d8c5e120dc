package main

import (
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
)

// printRecords writes records as JSON Lines: one compact JSON object a line
// (kvcore.Record's JSON: the value is the stored JSON itself, not base64,
// times are RFC 3339 in UTC, and expires is null for a record that never
// expires).
func (a *app) printRecords(rs ...kvcore.Record) error {
	enc := a.encoder()
	for _, r := range rs {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	return nil
}

// printAll writes the records of seq as JSON Lines as they arrive, so
// that listing a large store takes little memory.
func (a *app) printAll(seq iter.Seq2[kvcore.Record, error]) error {
	for r, err := range seq {
		if err != nil {
			return err
		}
		if err := a.printRecords(r); err != nil {
			return err
		}
	}
	return nil
}

// printNumber writes a count or a stream seq as a JSON number on a line of
// its own.
func (a *app) printNumber(n int64) error {
	if _, err := fmt.Fprintln(a.stdout, n); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// leaseJSON is how kv prints a lease: owner is "" and expires and acquired
// are null once it was released (or if it was never granted); the token is
// the last one granted; acquired is when the owner took it (kept when the
// owner extends it), null if unknown (a lease taken before the database
// stored acquisition times, until it changes hands).
type leaseJSON struct {
	Name     string     `json:"name"`
	Owner    string     `json:"owner"`
	Token    int64      `json:"token"`
	Expires  *time.Time `json:"expires"`
	Acquired *time.Time `json:"acquired"`
}

func leaseOut(l kvlock.Lease) leaseJSON {
	return leaseJSON{Name: l.Name, Owner: l.Owner, Token: l.Token, Expires: timeOrNull(l.Expires), Acquired: timeOrNull(l.Acquired)}
}

// timeOrNull is t in UTC, or nil (JSON null) for the zero time.
func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// lockStatusJSON is a lease and whether it is held now.
type lockStatusJSON struct {
	leaseJSON
	Held bool `json:"held"`
}

// consumerStatusJSON is how kv prints a consumer's status.
type consumerStatusJSON struct {
	Name     string    `json:"name"`
	Position int64     `json:"position"`
	Updated  time.Time `json:"updated"`
	Lag      int64     `json:"lag"`
	Held     bool      `json:"held"`
	Lease    leaseJSON `json:"lease"`
}

// streamRecordJSON is how kv prints a stream record: value is the stored
// JSON, null for a delete and a touch.
type streamRecordJSON struct {
	Seq       int64           `json:"seq"`
	Namespace string          `json:"namespace"`
	Key       string          `json:"key"`
	Action    string          `json:"action"`
	Version   int64           `json:"version"`
	Type      string          `json:"type"`
	Value     json.RawMessage `json:"value"`
	Time      time.Time       `json:"time"`
}

// printJSON writes v as one compact JSON line.
func (a *app) printJSON(v any) error {
	if err := a.encoder().Encode(v); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// encoder returns a JSON Lines encoder on stdout that leaves <, > and &
// as they are.
func (a *app) encoder() *json.Encoder {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	return enc
}

// printStreamRecords writes stream records as JSON Lines.
func (a *app) printStreamRecords(rs ...kvstream.Record) error {
	for _, r := range rs {
		err := a.printJSON(streamRecordJSON{
			Seq:       r.Seq,
			Namespace: r.Namespace,
			Key:       r.Key,
			Action:    r.Action,
			Version:   r.Version,
			Type:      r.Type,
			Value:     r.Value,
			Time:      r.Time.UTC(),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// flush writes out what is buffered for stdout, for output that must be
// seen as it happens (kv consumer stream).
func (a *app) flush() error {
	if f, ok := a.stdout.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	return nil
}

// textName is how kv's text output (kv status, messages on stderr) shows a
// name a user chose: a namespace, consumer, lease, owner or key. It is
// shown as it is if it is made only of printable characters other than
// space, quote and backslash, and otherwise quoted in Go syntax, which
// escapes line breaks, tabs, terminal escape sequences, invisible
// formatting characters and bytes that are not UTF-8: a name can never
// forge a line, a column or a terminal command. JSON output needs no such
// care: JSON escapes what it must.
func textName(s string) string {
	plain := s != "" && utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool {
		return !unicode.IsPrint(r) || r == ' ' || r == '"' || r == '\\'
	}) < 0
	if plain {
		return s
	}
	return strconv.Quote(s)
}
