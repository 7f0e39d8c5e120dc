package kvcore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
)

// Restore writes records exactly as they were exported: each keeps its key,
// value, type, version, created and updated times and expiry. It is for
// moving data between stores (kv import), not for ordinary writes. All of
// records are written in one transaction, or none. A record whose key is
// live in the store already fails the whole call with an error wrapping
// ErrVersionMismatch that names the key. Records that have expired by the
// store's clock are skipped. Each record written appends one create entry to
// the change stream, with the record's version.
func (s *Store) Restore(ctx context.Context, records ...Record) error {
	if len(records) == 0 {
		return nil
	}
	now, err := s.writeNow("restore")
	if err != nil {
		return err
	}
	ops := make([]driver.Op, 0, len(records))
	index := make([]int, 0, len(records)) // op -> record
	seen := make(map[string]bool, len(records))
	for i, r := range records {
		op, err := s.restoreOp(r)
		if err != nil {
			if len(records) > 1 {
				return fmt.Errorf("kv restore: record %d: %w", i, err)
			}
			return fmt.Errorf("kv restore: %w", err)
		}
		if seen[r.Key] {
			return fmt.Errorf("kv restore: record %d: %w: key %s appears twice", i, ErrInvalidArgument, quoteShort(r.Key))
		}
		seen[r.Key] = true
		if !op.Expires.IsZero() && !op.Expires.After(now) {
			continue
		}
		ops = append(ops, op)
		index = append(index, i)
	}
	if len(ops) == 0 {
		return nil
	}
	_, err = s.d.Apply(ctx, driver.Batch{Ops: ops, Now: now, Fence: s.fence})
	var oe *driver.OpError
	if errors.As(err, &oe) && errors.Is(err, ErrVersionMismatch) && oe.Index >= 0 && oe.Index < len(ops) {
		return fmt.Errorf("kv restore %s: key exists: %w", quoteShort(records[index[oe.Index]].Key), ErrVersionMismatch)
	}
	return wrap("restore", err)
}

// ValidateRecord reports whether Restore accepts r, by the check Restore
// makes of each record: a valid key, a version from 1 to MaxVersion-1 (so
// that the record can be written again), a valid type
// name or none, created and updated times with updated not before created,
// and a value that is a UTF-8 JSON document within the store's value size
// limit. It reads nothing: whether the key exists, whether the record has
// expired and whether a batch holds a key twice are Restore's to find. The
// error wraps ErrInvalidKey, ErrInvalidArgument or ErrInvalidValue.
func (s *Store) ValidateRecord(r Record) error {
	_, err := s.restoreOp(r)
	return err
}

// restoreOp validates one exported record (ValidateRecord) and turns it into
// an OpRestore.
func (s *Store) restoreOp(r Record) (driver.Op, error) {
	if err := ValidateKey(r.Key); err != nil {
		return driver.Op{}, err
	}
	if r.Version < 1 {
		return driver.Op{}, invalidArg("record %s: version %d is not positive", quoteShort(r.Key), r.Version)
	}
	if r.Version >= MaxVersion {
		return driver.Op{}, invalidArg("record %s: version %d could never be written again: the highest version a record can have is %d, so a restored record's is at most %d",
			quoteShort(r.Key), r.Version, MaxVersion, MaxVersion-1)
	}
	if r.Type != "" {
		if err := validateTypeName(r.Type); err != nil {
			return driver.Op{}, err
		}
	}
	if r.Created.IsZero() || r.Updated.IsZero() {
		return driver.Op{}, invalidArg("record %s: created and updated times are required", quoteShort(r.Key))
	}
	for _, t := range []struct {
		what string
		t    *time.Time
	}{{"created", &r.Created}, {"updated", &r.Updated}, {"expires", r.Expires}} {
		if t.t == nil {
			continue
		}
		if err := ValidateTime(t.what, *t.t); err != nil {
			return driver.Op{}, fmt.Errorf("record %s: %w", quoteShort(r.Key), err)
		}
	}
	if r.Updated.Before(r.Created) {
		return driver.Op{}, invalidArg("record %s: updated %s is before created %s", quoteShort(r.Key),
			r.Updated.Format(time.RFC3339Nano), r.Created.Format(time.RFC3339Nano))
	}
	value, err := s.encode([]byte(r.Value))
	if err != nil {
		return driver.Op{}, fmt.Errorf("record %s: %w", quoteShort(r.Key), err)
	}
	op := driver.Op{
		Kind:       driver.OpRestore,
		Namespace:  s.ns,
		Key:        r.Key,
		Value:      value,
		Type:       r.Type,
		SetVersion: r.Version,
		Created:    r.Created.UTC().Truncate(time.Microsecond),
		Updated:    r.Updated.UTC().Truncate(time.Microsecond),
	}
	if r.Expires != nil {
		op.Expires = r.Expires.UTC().Truncate(time.Microsecond)
	}
	return op, nil
}
