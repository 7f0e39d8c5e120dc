package kvcore

import (
	"context"
	"iter"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
)

// DefaultPageSize is the number of records an iterator reads per query.
const DefaultPageSize = 256

// IterOption configures an iterator.
type IterOption func(*iterOptions)

type iterOptions struct {
	pageSize int
	after    string
	hasAfter bool
}

// PageSize sets how many records an iterator reads per query (default 256).
func PageSize(n int) IterOption {
	return func(o *iterOptions) {
		if n > 0 {
			o.pageSize = n
		}
	}
}

// StartAfter makes an iterator begin after key (a cursor from an earlier page).
func StartAfter(key string) IterOption {
	return func(o *iterOptions) { o.after, o.hasAfter = key, true }
}

// All iterates over every record in key order. It pages by key (the next
// page starts after the last key seen), so each page costs the same however
// far in it is. Stop early by breaking out of the loop.
func (s *Store) All(ctx context.Context, opts ...IterOption) iter.Seq2[Record, error] {
	return s.scan(ctx, driver.Selector{Namespace: s.ns}, nil, opts)
}

// AllPrefix iterates over the records whose keys start with prefix.
func (s *Store) AllPrefix(ctx context.Context, prefix string, opts ...IterOption) iter.Seq2[Record, error] {
	sel, err := s.prefixSelector(prefix)
	return s.scan(ctx, sel, err, opts)
}

// AllRange iterates over the records with from <= key < to.
func (s *Store) AllRange(ctx context.Context, from, to string, opts ...IterOption) iter.Seq2[Record, error] {
	sel, err := s.rangeSelector(from, to)
	return s.scan(ctx, sel, err, opts)
}

// AllType iterates over the records of type t.
func (s *Store) AllType(ctx context.Context, t string, opts ...IterOption) iter.Seq2[Record, error] {
	sel, err := s.typeSelector(t)
	return s.scan(ctx, sel, err, opts)
}

func (s *Store) scan(ctx context.Context, sel driver.Selector, selErr error, opts []IterOption) iter.Seq2[Record, error] {
	return scanPages(ctx, s.query, s.Now, sel, selErr, opts)
}

// scanPages iterates over what sel selects, a page at a time through
// query, paging by key; each page is read at now().
func scanPages(ctx context.Context, query func(context.Context, driver.Selector, time.Time) ([]driver.Record, error),
	now func() time.Time, sel driver.Selector, selErr error, opts []IterOption) iter.Seq2[Record, error] {
	o := iterOptions{pageSize: DefaultPageSize}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return func(yield func(Record, error) bool) {
		if selErr != nil {
			yield(Record{}, selErr)
			return
		}
		if o.hasAfter {
			if err := ValidateKey(o.after); err != nil {
				yield(Record{}, err)
				return
			}
			sel.After, sel.HasAfter = o.after, true
		}
		sel.Limit = o.pageSize
		for {
			rows, err := query(ctx, sel, now())
			if err != nil {
				yield(Record{}, err)
				return
			}
			for _, r := range rows {
				if !yield(recordFrom(r), nil) {
					return
				}
			}
			if len(rows) < sel.Limit {
				return
			}
			sel.After, sel.HasAfter = rows[len(rows)-1].Key, true
		}
	}
}

// query reads one page of an iterator at now.
func (s *Store) query(ctx context.Context, sel driver.Selector, now time.Time) (_ []driver.Record, err error) {
	defer s.track("scan", &err)()
	rows, err := s.d.Query(ctx, sel, now)
	return rows, wrap("scan", err)
}
