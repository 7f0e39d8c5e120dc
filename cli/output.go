package main

import (
	"encoding/json"
	"fmt"
	"iter"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// recordJSON is how kv prints a record: the value is the stored JSON itself
// (not base64), times are RFC 3339 in UTC, and expires is null for a record
// that never expires.
type recordJSON struct {
	Key     string          `json:"key"`
	Version int64           `json:"version"`
	Value   json.RawMessage `json:"value"`
	Type    string          `json:"type"`
	Created time.Time       `json:"created"`
	Updated time.Time       `json:"updated"`
	Expires *time.Time      `json:"expires"`
}

// printRecords writes records as JSON Lines: one compact JSON object a line.
func (a *app) printRecords(rs ...kvcore.Record) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	for _, r := range rs {
		err := enc.Encode(recordJSON{
			Key:     r.Key,
			Version: r.Version,
			Value:   r.Value,
			Type:    r.Type,
			Created: r.Created.UTC(),
			Updated: r.Updated.UTC(),
			Expires: r.Expires,
		})
		if err != nil {
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

// printNumber writes a count as a JSON number on a line of its own.
func (a *app) printNumber(n int) error {
	if _, err := fmt.Fprintln(a.stdout, n); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
