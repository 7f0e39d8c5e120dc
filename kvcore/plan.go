package kvcore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/kvsuite/kv/kvcore/driver"
)

// planned is a validated mutation with its value encoded.
type planned struct {
	kind    mutationKind
	key     string
	version int64
	value   []byte // encoded value or patch
	typ     string
	setType bool
	ttl     time.Duration
	expires time.Time
	hasExp  bool
	sel     driver.Selector
}

// plan validates every mutation before anything is sent.
func (s *Store) plan(ms []Mutation) ([]planned, error) {
	out := make([]planned, len(ms))
	for i, m := range ms {
		p, err := s.planOne(m)
		if err != nil {
			if len(ms) > 1 {
				return nil, fmt.Errorf("mutation %d: %w", i, err)
			}
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

func (s *Store) planOne(m Mutation) (planned, error) {
	p := planned{kind: m.kind, key: m.key, version: m.version}
	var o writeOptions
	for _, opt := range m.opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.typ != nil {
		if err := validateTypeName(*o.typ); err != nil {
			return p, err
		}
		p.typ, p.setType = *o.typ, true
	}
	if o.hasExp {
		if o.expires.IsZero() && o.ttl <= 0 {
			return p, invalidArg("TTL %v must be positive", o.ttl)
		}
		if !o.expires.IsZero() {
			if err := ValidateTime("expiry", o.expires); err != nil {
				return p, err
			}
		}
		p.ttl, p.expires, p.hasExp = o.ttl, o.expires, true
	}
	switch m.kind {
	case mPut, mPatch:
		if err := ValidateKey(m.key); err != nil {
			return p, err
		}
		if err := validateVersion(m.version); err != nil {
			return p, err
		}
		v, err := s.encode(m.value)
		if err != nil {
			return p, fmt.Errorf("key %s: %w", quoteShort(m.key), err)
		}
		p.value = v
		if m.kind == mPut && !p.setType {
			p.typ, p.setType = TypeOf(m.value), true
		}
	case mDelete, mTouch:
		if err := ValidateKey(m.key); err != nil {
			return p, err
		}
		if err := validateVersion(m.version); err != nil {
			return p, err
		}
	case mDeleteRange:
		if err := validatePage(m.offset, m.limit); err != nil {
			return p, err
		}
		var sel driver.Selector
		var err error
		switch {
		case m.all:
			sel = driver.Selector{Namespace: s.ns}
		case m.prefix:
			if m.from == "" {
				return p, fmt.Errorf("%w: prefix is empty (use DeleteAll to delete everything)", ErrInvalidKey)
			}
			sel, err = s.prefixSelector(m.from)
		default:
			sel, err = s.rangeSelector(m.from, m.to)
		}
		if err != nil {
			return p, err
		}
		sel.Offset, sel.Limit = m.offset, m.limit
		p.sel = sel
	default:
		return p, invalidArg("unknown mutation (build mutations with kvcore.Put, Patch, Delete, ...)")
	}
	return p, nil
}

// encode turns a value into compact JSON and checks its size.
func (s *Store) encode(v any) ([]byte, error) {
	var raw []byte
	switch t := v.(type) {
	case json.RawMessage:
		raw = t
	case []byte:
		raw = t
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidValue, err)
		}
		raw = b
	}
	if len(raw) > s.maxValueSize*2 {
		// Cheap early refusal; compacting cannot halve a document's size
		// in practice, and the exact check follows.
		return nil, fmt.Errorf("%w: %d bytes is over the %d byte limit", ErrInvalidValue, len(raw), s.maxValueSize)
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("%w: not a JSON document", ErrInvalidValue)
	}
	if !utf8.Valid(raw) {
		// encoding/json accepts invalid UTF-8 inside strings; JSON text
		// must be UTF-8, and PostgreSQL and rqlite cannot carry it.
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrInvalidValue)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidValue, err)
	}
	if buf.Len() > s.maxValueSize {
		return nil, fmt.Errorf("%w: %d bytes is over the %d byte limit", ErrInvalidValue, buf.Len(), s.maxValueSize)
	}
	return buf.Bytes(), nil
}

// keyState is what ops knows of a key while it walks a batch.
type keyState struct {
	exists  bool
	version int64
	value   []byte
	typ     string
	expires time.Time
}

// ops turns the plan into driver ops at time now. For patches it reads the
// current records (in one query) and follows the batch's own earlier writes
// to the same keys, so a patch applies to what the batch has made so far.
func (s *Store) ops(ctx context.Context, plan []planned, now time.Time) ([]driver.Op, error) {
	var patchKeys []string
	for _, p := range plan {
		if p.kind == mPatch {
			patchKeys = append(patchKeys, p.key)
		}
	}
	state := map[string]*keyState{}
	if len(patchKeys) > 0 {
		rows, err := s.d.Query(ctx, driver.Selector{Namespace: s.ns, Keys: uniqueStrings(patchKeys)}, now)
		if err != nil {
			return nil, wrap("patch", err)
		}
		for _, k := range patchKeys {
			state[k] = &keyState{}
		}
		for _, r := range rows {
			state[r.Key] = &keyState{exists: true, version: r.Version, value: r.Value, typ: r.Type, expires: r.Expires}
		}
	}
	ops := make([]driver.Op, len(plan))
	for i, p := range plan {
		op := driver.Op{Namespace: s.ns, Key: p.key, Version: p.version}
		var exp time.Time
		if p.hasExp {
			exp = p.expires
			if exp.IsZero() {
				exp = now.Add(p.ttl)
			}
			exp = exp.UTC().Truncate(time.Microsecond)
			if !exp.After(now) {
				return nil, invalidArg("expiry %s is not after now (%s)", formatTime(exp), formatTime(now))
			}
			if err := ValidateTime(fmt.Sprintf("expiry (TTL %v from %s)", p.ttl, formatTime(now)), exp); p.expires.IsZero() && err != nil {
				return nil, err
			}
		}
		st := state[p.key]
		switch p.kind {
		case mPut:
			op.Kind, op.Value, op.Type, op.Expires = driver.OpPut, p.value, p.typ, exp
			if st != nil && checkVersion(p.version, st) == nil {
				// A mismatch is the driver's to report, as it fails the
				// batch; a put over a record at MaxVersion is known here.
				if err := checkIncrement(st); err != nil {
					return nil, mutationError("put", len(plan), i, p.kind, p.key, err)
				}
			}
			if st != nil {
				// Follow the batch: if this put's version does not hold,
				// the driver fails the whole batch, so it is known here.
				*st = keyState{exists: true, version: nextVersion(st), value: p.value, typ: p.typ, expires: exp}
			}
		case mPatch:
			err := checkVersion(p.version, st)
			if err == nil {
				err = checkIncrement(st)
			}
			if err != nil {
				return nil, mutationError("patch", len(plan), i, p.kind, p.key, err)
			}
			merged, err := mergePatch(st.value, st.exists, p.value)
			if err != nil {
				return nil, fmt.Errorf("kv patch %s: %w", quoteShort(p.key), err)
			}
			if len(merged) > s.maxValueSize {
				return nil, fmt.Errorf("kv patch %s: %w: result of %d bytes is over the %d byte limit", quoteShort(p.key), ErrInvalidValue, len(merged), s.maxValueSize)
			}
			typ := st.typ
			if p.setType {
				typ = p.typ
			}
			if !p.hasExp {
				exp = st.expires
			}
			op.Kind, op.Value, op.Type, op.Expires = driver.OpPut, merged, typ, exp
			op.Version = st.version // conditional on what was read (0: absent)
			*st = keyState{exists: true, version: nextVersion(st), value: merged, typ: typ, expires: exp}
		case mDelete:
			op.Kind = driver.OpDelete
			if st != nil {
				*st = keyState{}
			}
		case mTouch:
			op.Kind, op.Expires = driver.OpTouch, exp
			if st != nil && st.exists {
				st.expires = exp
			}
		case mDeleteRange:
			op.Kind, op.Key, op.Version, op.Sel = driver.OpDeleteRange, "", -1, p.sel
			for k, st := range state {
				if inSelector(k, p.sel) {
					if p.sel.Offset != 0 || p.sel.Limit != 0 {
						return nil, invalidArg("cannot patch %s after a range delete with offset or limit in the same MutateAll", quoteShort(k))
					}
					*st = keyState{}
				}
			}
		}
		ops[i] = op
	}
	return ops, nil
}

// nextVersion is the version a write gives a key in state st (which
// checkIncrement has passed).
func nextVersion(st *keyState) int64 {
	if st.exists {
		return st.version + 1
	}
	return 1
}

// checkIncrement applies the version limit to a write over a key in
// state st, whose expected version holds: a record at MaxVersion cannot be
// written again.
func checkIncrement(st *keyState) error {
	if !st.exists || st.version < MaxVersion {
		return nil
	}
	return ErrVersionLimit
}

func inSelector(k string, sel driver.Selector) bool {
	return k >= sel.From && (!sel.HasTo || k < sel.To)
}

// checkVersion applies the expected-version rule to a known key state.
func checkVersion(version int64, st *keyState) error {
	switch {
	case version == -1:
		return nil
	case version == 0 && st.exists:
		return fmt.Errorf("%w: key exists at version %d", ErrVersionMismatch, st.version)
	case version > 0 && !st.exists:
		return fmt.Errorf("%w: key does not exist, want version %d", ErrVersionMismatch, version)
	case version > 0 && st.version != version:
		return fmt.Errorf("%w: key is at version %d, want %d", ErrVersionMismatch, st.version, version)
	}
	return nil
}
