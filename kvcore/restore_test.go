package kvcore_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// TestValidateRecord: the check Restore makes of each record, without a
// backend (the driver is never called), under the store's value size limit.
func TestValidateRecord(t *testing.T) {
	s, err := kvcore.New(bareDriver{}, kvcore.WithSweepInterval(0), kvcore.WithMaxValueSize(8))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	good := kvcore.Record{Key: "k", Version: 3, Value: json.RawMessage(`{"a":1}`), Type: "T", Created: t0, Updated: t0.Add(time.Second)}
	if err := s.ValidateRecord(good); err != nil {
		t.Fatalf("good record: %v", err)
	}
	edit := func(f func(r *kvcore.Record)) kvcore.Record { r := good; f(&r); return r }
	past := t0.Add(-time.Hour)
	cases := []struct {
		name string
		r    kvcore.Record
		want error
	}{
		{"no type", edit(func(r *kvcore.Record) { r.Type = "" }), nil},
		{"expired", edit(func(r *kvcore.Record) { r.Expires = &past }), nil},
		{"compacts to the limit", edit(func(r *kvcore.Record) { r.Value = json.RawMessage(` { "a" : 12 } `) }), nil},
		{"empty key", edit(func(r *kvcore.Record) { r.Key = "" }), kvcore.ErrInvalidKey},
		{"NUL in key", edit(func(r *kvcore.Record) { r.Key = "a\x00" }), kvcore.ErrInvalidKey},
		{"version 0", edit(func(r *kvcore.Record) { r.Version = 0 }), kvcore.ErrInvalidArgument},
		{"version -1", edit(func(r *kvcore.Record) { r.Version = -1 }), kvcore.ErrInvalidArgument},
		{"the highest version restored", edit(func(r *kvcore.Record) { r.Version = kvcore.MaxVersion - 1 }), nil},
		{"a version that cannot be written again", edit(func(r *kvcore.Record) { r.Version = kvcore.MaxVersion }), kvcore.ErrInvalidArgument},
		{"bad type", edit(func(r *kvcore.Record) { r.Type = "\xff" }), kvcore.ErrInvalidArgument},
		{"no created", edit(func(r *kvcore.Record) { r.Created = time.Time{} }), kvcore.ErrInvalidArgument},
		{"updated before created", edit(func(r *kvcore.Record) { r.Updated = past }), kvcore.ErrInvalidArgument},
		{"no value", edit(func(r *kvcore.Record) { r.Value = nil }), kvcore.ErrInvalidValue},
		{"not JSON", edit(func(r *kvcore.Record) { r.Value = json.RawMessage(`{x}`) }), kvcore.ErrInvalidValue},
		{"not UTF-8", edit(func(r *kvcore.Record) { r.Value = json.RawMessage("\"\xff\"") }), kvcore.ErrInvalidValue},
		{"over the limit", edit(func(r *kvcore.Record) { r.Value = json.RawMessage(`{"a":123}`) }), kvcore.ErrInvalidValue},
	}
	for _, c := range cases {
		err := s.ValidateRecord(c.r)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: ValidateRecord = %v, want %v", c.name, err, c.want)
		}
	}
	// The error says which versions are accepted.
	err = s.ValidateRecord(edit(func(r *kvcore.Record) { r.Version = kvcore.MaxVersion }))
	if want := strconv.FormatInt(kvcore.MaxVersion-1, 10); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("version MaxVersion: %v, want an error naming %s", err, want)
	}
}
