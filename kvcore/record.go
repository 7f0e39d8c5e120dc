package kvcore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
)

// Record is a stored key and value with its metadata.
type Record struct {
	Key string `json:"key"`
	// Version is 1 when the key is created and grows by one on every update.
	Version int64 `json:"version"`
	// Value is the JSON document, byte for byte as it was stored (compacted).
	Value json.RawMessage `json:"value"`
	// Type is the name given on Put, or taken from the Go type of the value.
	Type    string    `json:"type"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Expires is when the record stops being visible; nil (JSON null) if it
	// never does.
	Expires *time.Time `json:"expires"`
}

// Decode unmarshals the record's value into v. Numbers decoded into an
// interface{} become json.Number, so no precision is lost.
func (r Record) Decode(v any) error {
	return decodeJSON(r.Value, v)
}

func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode value: %w", err)
	}
	return nil
}

func recordFrom(d driver.Record) Record {
	r := Record{
		Key:     d.Key,
		Version: d.Version,
		Value:   json.RawMessage(d.Value),
		Type:    d.Type,
		Created: d.Created.UTC(),
		Updated: d.Updated.UTC(),
	}
	if !d.Expires.IsZero() {
		e := d.Expires.UTC()
		r.Expires = &e
	}
	return r
}

func recordsFrom(ds []driver.Record) []Record {
	out := make([]Record, len(ds))
	for i, d := range ds {
		out[i] = recordFrom(d)
	}
	return out
}

// TypeOf returns the type name kv records for v: the Go type's name without
// its package or pointers ("Person" for Person or *Person), or "" for raw
// JSON ([]byte, json.RawMessage), nil and unnamed types.
func TypeOf(v any) string {
	if v == nil {
		return ""
	}
	switch v.(type) {
	case json.RawMessage, []byte:
		return ""
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// ValueOf decodes one record's value as a T.
func ValueOf[T any](r Record) (T, error) {
	var v T
	err := r.Decode(&v)
	if err != nil {
		return v, fmt.Errorf("record %q: %w", r.Key, err)
	}
	return v, nil
}

// ValuesOf decodes the values of records as Ts, in order.
func ValuesOf[T any](records []Record) ([]T, error) {
	out := make([]T, 0, len(records))
	for _, r := range records {
		v, err := ValueOf[T](r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// RecordsOf returns records keyed by their keys.
func RecordsOf(records []Record) map[string]Record {
	out := make(map[string]Record, len(records))
	for _, r := range records {
		out[r.Key] = r
	}
	return out
}
