package kvcore

import (
	"context"
	"fmt"

	"github.com/kvsuite/kv/kvcore/driver"
)

// Get reads key. If the key exists (and has not expired) it decodes the value
// into v (unless v is nil) and returns the record and true; if not, it
// returns false and no error.
func (s *Store) Get(ctx context.Context, key string, v any) (r Record, ok bool, err error) {
	defer s.track("get", &err)()
	if err := ValidateKey(key); err != nil {
		return r, false, err
	}
	rows, err := s.d.Query(ctx, driver.Selector{Namespace: s.ns, Keys: []string{key}}, s.Now())
	if err != nil {
		return r, false, wrap("get", err)
	}
	if len(rows) == 0 {
		return r, false, nil
	}
	r = recordFrom(rows[0])
	if v != nil {
		if err := r.Decode(v); err != nil {
			return r, true, fmt.Errorf("kv get %q: %w", key, err)
		}
	}
	return r, true, nil
}

// GetRecord reads key and returns ErrNotFound if it does not exist.
func (s *Store) GetRecord(ctx context.Context, key string) (Record, error) {
	r, ok, err := s.Get(ctx, key, nil)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fmt.Errorf("kv get %s: %w", quoteShort(key), ErrNotFound)
	}
	return r, nil
}

// GetBatch reads many keys in one query and returns the records found, in
// the order of keys (missing or expired keys are left out; a repeated key is
// returned once).
func (s *Store) GetBatch(ctx context.Context, keys ...string) (_ []Record, err error) {
	defer s.track("get batch", &err)()
	if len(keys) == 0 {
		return nil, nil
	}
	seen := make(map[string]bool, len(keys))
	uniq := make([]string, 0, len(keys))
	for _, k := range keys {
		if err := ValidateKey(k); err != nil {
			return nil, err
		}
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, k)
		}
	}
	rows, err := s.d.Query(ctx, driver.Selector{Namespace: s.ns, Keys: uniq}, s.Now())
	if err != nil {
		return nil, wrap("get batch", err)
	}
	return recordsFrom(rows), nil
}

// GetPrefix returns the records whose keys start with prefix, byte for byte,
// in key order, skipping offset and returning at most limit (0: no limit).
func (s *Store) GetPrefix(ctx context.Context, prefix string, offset, limit int) ([]Record, error) {
	sel, err := s.prefixSelector(prefix)
	if err != nil {
		return nil, err
	}
	return s.page(ctx, "get prefix", sel, offset, limit)
}

// GetRange returns the records with from <= key < to, in key order, skipping
// offset and returning at most limit (0: no limit).
func (s *Store) GetRange(ctx context.Context, from, to string, offset, limit int) ([]Record, error) {
	sel, err := s.rangeSelector(from, to)
	if err != nil {
		return nil, err
	}
	return s.page(ctx, "get range", sel, offset, limit)
}

// GetType returns the records of type t, in key order, skipping offset and
// returning at most limit (0: no limit).
func (s *Store) GetType(ctx context.Context, t string, offset, limit int) ([]Record, error) {
	sel, err := s.typeSelector(t)
	if err != nil {
		return nil, err
	}
	return s.page(ctx, "get type", sel, offset, limit)
}

// List returns every record in key order, skipping offset and returning at
// most limit (0: no limit).
func (s *Store) List(ctx context.Context, offset, limit int) ([]Record, error) {
	return s.page(ctx, "list", driver.Selector{Namespace: s.ns}, offset, limit)
}

// Count returns the number of records.
func (s *Store) Count(ctx context.Context) (int, error) {
	return s.count(ctx, "count", driver.Selector{Namespace: s.ns})
}

// CountPrefix returns the number of records whose keys start with prefix.
func (s *Store) CountPrefix(ctx context.Context, prefix string) (int, error) {
	sel, err := s.prefixSelector(prefix)
	if err != nil {
		return 0, err
	}
	return s.count(ctx, "count prefix", sel)
}

// CountRange returns the number of records with from <= key < to.
func (s *Store) CountRange(ctx context.Context, from, to string) (int, error) {
	sel, err := s.rangeSelector(from, to)
	if err != nil {
		return 0, err
	}
	return s.count(ctx, "count range", sel)
}

// CountType returns the number of records of type t.
func (s *Store) CountType(ctx context.Context, t string) (int, error) {
	sel, err := s.typeSelector(t)
	if err != nil {
		return 0, err
	}
	return s.count(ctx, "count type", sel)
}

func (s *Store) page(ctx context.Context, op string, sel driver.Selector, offset, limit int) (_ []Record, err error) {
	defer s.track(op, &err)()
	if err := validatePage(offset, limit); err != nil {
		return nil, err
	}
	sel.Offset, sel.Limit = offset, limit
	rows, err := s.d.Query(ctx, sel, s.Now())
	if err != nil {
		return nil, wrap(op, err)
	}
	return recordsFrom(rows), nil
}

func (s *Store) count(ctx context.Context, op string, sel driver.Selector) (_ int, err error) {
	defer s.track(op, &err)()
	n, err := s.d.Count(ctx, sel, s.Now())
	if err != nil {
		return 0, wrap(op, err)
	}
	return int(n), nil
}

// prefixSelector turns a prefix into the equivalent key range, so that every
// backend answers it from the primary key index with plain comparisons.
func (s *Store) prefixSelector(prefix string) (driver.Selector, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return driver.Selector{}, err
	}
	sel := driver.Selector{Namespace: s.ns, From: prefix}
	sel.To, sel.HasTo = prefixEnd(prefix)
	return sel, nil
}

func (s *Store) rangeSelector(from, to string) (driver.Selector, error) {
	if err := ValidateRange(from, to); err != nil {
		return driver.Selector{}, err
	}
	return driver.Selector{Namespace: s.ns, From: from, To: to, HasTo: true}, nil
}

func (s *Store) typeSelector(t string) (driver.Selector, error) {
	if t == "" {
		return driver.Selector{}, invalidArg("type name is empty")
	}
	if err := validateTypeName(t); err != nil {
		return driver.Selector{}, err
	}
	return driver.Selector{Namespace: s.ns, Type: t}, nil
}
