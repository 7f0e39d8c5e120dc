package kvcore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/kvsuite/kv/kvcore/driver"
)

// WriteOption sets an optional property of a Put, Patch or mutation.
type WriteOption func(*writeOptions)

type writeOptions struct {
	typ     *string
	ttl     time.Duration
	expires time.Time
	hasExp  bool
}

// WithType records name as the record's type instead of the Go type's name.
func WithType(name string) WriteOption {
	return func(o *writeOptions) { o.typ = &name }
}

// WithTTL makes the record expire d after the write. d must be positive,
// and the expiry no later than MaxTime. A Put without a TTL stores a record
// that never expires; a Patch without one keeps the record's expiry.
func WithTTL(d time.Duration) WriteOption {
	return func(o *writeOptions) { o.ttl = d; o.hasExp = true }
}

// WithExpiry makes the record expire at t, which must be after the write
// and no later than MaxTime.
func WithExpiry(t time.Time) WriteOption {
	return func(o *writeOptions) { o.expires = t; o.hasExp = true }
}

// WithFence returns a view of the store whose every write applies only while
// the lease name is held with exactly token (see kvlock). A write by a stale
// holder fails with ErrFenced and changes nothing.
func (s *Store) WithFence(name string, token int64) *Store {
	c := *s
	c.fence = &driver.Fence{Name: name, Token: token}
	return &c
}

type mutationKind int

const (
	mPut mutationKind = iota + 1
	mPatch
	mDelete
	mDeleteRange
	mTouch
)

// Mutation is one write for MutateAll. Build it with Put, Patch, Delete,
// DeleteVersion, DeletePrefix, DeleteRange, DeleteAll or Touch.
type Mutation struct {
	kind    mutationKind
	key     string
	version int64
	value   any
	prefix  bool // mDeleteRange from a prefix
	all     bool // mDeleteRange over everything
	from    string
	to      string
	offset  int
	limit   int
	opts    []WriteOption
}

// Put is a mutation that writes value (any JSON-marshallable value; []byte
// and json.RawMessage are taken as JSON text) at key if version holds:
// -1 any, 0 only if the key does not exist, N > 0 only if it is at version N.
func Put(key string, version int64, value any, opts ...WriteOption) Mutation {
	return Mutation{kind: mPut, key: key, version: version, value: value, opts: opts}
}

// Patch is a mutation that applies patch to key's value as an RFC 7396 JSON
// merge patch, if version holds. A missing key is patched as if it held {}.
// The record keeps its type and, unless a TTL is given, its expiry.
//
// The merge is exactly RFC 7396: null deletes a member, objects merge
// member by member, and any other value (an array included, with any nulls
// in it) replaces the target's value as it is. Numbers keep their exact
// text; members keep the value's order, new ones following in the patch's.
func Patch(key string, version int64, patch any, opts ...WriteOption) Mutation {
	return Mutation{kind: mPatch, key: key, version: version, value: patch, opts: opts}
}

// Delete is a mutation that deletes key if it exists.
func Delete(key string) Mutation {
	return Mutation{kind: mDelete, key: key, version: -1}
}

// DeleteVersion is a mutation that deletes key only if it is at version.
func DeleteVersion(key string, version int64) Mutation {
	return Mutation{kind: mDelete, key: key, version: version}
}

// DeletePrefix is a mutation that deletes the records whose keys start with
// prefix (which must not be empty; see DeleteAll), in key order, skipping
// offset and deleting at most limit (0: no limit).
func DeletePrefix(prefix string, offset, limit int) Mutation {
	return Mutation{kind: mDeleteRange, prefix: true, from: prefix, offset: offset, limit: limit}
}

// DeleteRange is a mutation that deletes the records with from <= key < to,
// skipping offset and deleting at most limit (0: no limit).
func DeleteRange(from, to string, offset, limit int) Mutation {
	return Mutation{kind: mDeleteRange, from: from, to: to, offset: offset, limit: limit}
}

// DeleteAll is a mutation that deletes every record of the namespace.
func DeleteAll() Mutation {
	return Mutation{kind: mDeleteRange, all: true}
}

// Touch is a mutation that sets a live record's expiry to ttl from now
// (0: never) without changing its value or version. It appends a touch
// entry to the stream (the record's version, no value); a missing key
// appends nothing.
func Touch(key string, version int64, ttl time.Duration) Mutation {
	m := Mutation{kind: mTouch, key: key, version: version}
	if ttl != 0 {
		m.opts = []WriteOption{WithTTL(ttl)}
	}
	return m
}

// Put writes value at key if version holds (see the Put mutation).
func (s *Store) Put(ctx context.Context, key string, version int64, value any, opts ...WriteOption) error {
	_, err := s.mutate(ctx, "put", []Mutation{Put(key, version, value, opts...)})
	return err
}

// Patch merges patch into key's value (RFC 7396) if version holds.
func (s *Store) Patch(ctx context.Context, key string, version int64, patch any, opts ...WriteOption) error {
	_, err := s.mutate(ctx, "patch", []Mutation{Patch(key, version, patch, opts...)})
	return err
}

// Delete deletes keys in one transaction and returns how many existed.
func (s *Store) Delete(ctx context.Context, keys ...string) (int, error) {
	ms := make([]Mutation, len(keys))
	for i, k := range keys {
		ms[i] = Delete(k)
	}
	n, err := s.mutate(ctx, "delete", ms)
	return sum(n), err
}

// DeleteVersion deletes key only if it is at version and reports whether it
// deleted it. A mismatch is ErrVersionMismatch.
func (s *Store) DeleteVersion(ctx context.Context, key string, version int64) (bool, error) {
	n, err := s.mutate(ctx, "delete", []Mutation{DeleteVersion(key, version)})
	return sum(n) == 1, err
}

// DeletePrefix deletes records whose keys start with prefix (see the
// DeletePrefix mutation) and returns how many it deleted.
func (s *Store) DeletePrefix(ctx context.Context, prefix string, offset, limit int) (int, error) {
	n, err := s.mutate(ctx, "delete prefix", []Mutation{DeletePrefix(prefix, offset, limit)})
	return sum(n), err
}

// DeleteRange deletes records with from <= key < to (see the DeleteRange
// mutation) and returns how many it deleted.
func (s *Store) DeleteRange(ctx context.Context, from, to string, offset, limit int) (int, error) {
	n, err := s.mutate(ctx, "delete range", []Mutation{DeleteRange(from, to, offset, limit)})
	return sum(n), err
}

// DeleteAll deletes every record of the store's namespace and returns how
// many it deleted.
func (s *Store) DeleteAll(ctx context.Context) (int, error) {
	n, err := s.mutate(ctx, "delete all", []Mutation{DeleteAll()})
	return sum(n), err
}

// Touch sets key's expiry to ttl from now (0: never expires) without changing
// its value or version, and appends a touch entry to the stream. It returns
// ErrNotFound if the key does not exist (and appends nothing).
func (s *Store) Touch(ctx context.Context, key string, ttl time.Duration) error {
	n, err := s.mutate(ctx, "touch", []Mutation{Touch(key, -1, ttl)})
	if err == nil && sum(n) == 0 {
		return fmt.Errorf("kv touch %s: %w", quoteShort(key), ErrNotFound)
	}
	return err
}

// MutateAll applies mutations in order in one transaction: all of them or
// none. It returns the rows each affected. If a version does not hold, the
// error wraps ErrVersionMismatch and says which mutation failed.
func (s *Store) MutateAll(ctx context.Context, mutations ...Mutation) ([]int, error) {
	return s.mutate(ctx, "mutate", mutations)
}

func sum(ns []int) int {
	t := 0
	for _, n := range ns {
		t += n
	}
	return t
}

// mutate validates mutations, turns them into driver ops and applies them.
// Patches are merged here, in the front, against the current records; the
// resulting put is conditional on the version that was read, and if another
// writer got in between (and the caller did not ask for a specific version)
// the whole batch is read and merged again.
func (s *Store) mutate(ctx context.Context, op string, ms []Mutation) (_ []int, err error) {
	defer s.track(op, &err)()
	if len(ms) == 0 {
		return []int{}, nil
	}
	plan, err := s.plan(ms)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		now, err := s.writeNow(op)
		if err != nil {
			return nil, err
		}
		ops, err := s.ops(ctx, plan, now)
		if err != nil {
			return nil, err
		}
		res, err := s.d.Apply(ctx, driver.Batch{Ops: ops, Now: now, Fence: s.fence})
		if err == nil {
			out := make([]int, len(res))
			for i, r := range res {
				out[i] = int(r.Rows)
			}
			return out, nil
		}
		var oe *driver.OpError
		if errors.As(err, &oe) && oe.Index >= 0 && oe.Index < len(plan) {
			p := plan[oe.Index]
			cause := oe.Err
			switch {
			case errors.Is(cause, ErrVersionLimit):
				cause = ErrVersionLimit
			case errors.Is(cause, ErrVersionMismatch):
				if p.kind == mPatch && p.version == -1 && attempt < s.patchRetries {
					if err := sleepCtx(ctx, backoff(attempt)); err != nil {
						return nil, wrap(op, err)
					}
					continue
				}
				cause = ErrVersionMismatch
			}
			return nil, mutationError(op, len(plan), oe.Index, p.kind, p.key, cause)
		}
		return nil, wrap(op, err)
	}
}

// mutationError is err of mutation i (of kind and key) of a call op with n
// mutations: it names the key, and the mutation if there are several.
func mutationError(op string, n, i int, kind mutationKind, key string, err error) error {
	if n == 1 {
		return fmt.Errorf("kv %s %s: %w", op, quoteShort(key), err)
	}
	return fmt.Errorf("kv %s: mutation %d (%s %s): %w", op, i, kind, quoteShort(key), err)
}

func (k mutationKind) String() string {
	switch k {
	case mPut:
		return "put"
	case mPatch:
		return "patch"
	case mDelete:
		return "delete"
	case mDeleteRange:
		return "delete range"
	case mTouch:
		return "touch"
	}
	return "unknown"
}

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

// mergePatch applies an RFC 7396 merge patch. A missing record, or one whose
// value is not an object, is patched as {} when the patch is an object; a
// patch that is not an object replaces the value.
//
// Objects are parsed once into trees whose other values keep their text (so
// numbers stay exact), merged, and written out again: the time is linear in
// the sizes however deep the objects nest.
func mergePatch(doc []byte, exists bool, patch []byte) ([]byte, error) {
	if !isObject(patch) {
		return patch, nil
	}
	var target jsonValue
	if exists && isObject(doc) {
		var err error
		if target, err = parseJSON(doc); err != nil {
			return nil, fmt.Errorf("%w: merge patch: stored value: %v", ErrInvalidValue, err)
		}
	}
	p, err := parseJSON(patch)
	if err != nil {
		return nil, fmt.Errorf("%w: merge patch: %v", ErrInvalidValue, err)
	}
	// Both documents are compact (encode made them so), so the merge is.
	return mergeValues(target, p).appendTo(nil), nil
}

// mergeValues is RFC 7396's MergePatch(target, patch): null deletes a
// member, objects merge member by member (onto {} if the target is no
// object), and any other value, an array included, replaces the target's as
// it is. The target's members keep their order; new ones follow in the
// patch's. target is changed.
func mergeValues(target, patch jsonValue) jsonValue {
	if patch.obj == nil {
		return patch
	}
	t := target.obj
	if t == nil {
		t = &jsonObject{at: map[string]int{}}
	}
	for _, m := range patch.obj.members {
		i, ok := t.at[m.name]
		switch {
		case m.value.obj == nil && string(m.value.raw) == "null":
			if ok {
				t.members[i].value = jsonValue{} // deleted
			}
		case ok:
			t.members[i].value = mergeValues(t.members[i].value, m.value)
		default:
			t.at[m.name] = len(t.members)
			t.members = append(t.members, member{name: m.name, key: m.key, value: mergeValues(jsonValue{}, m.value)})
		}
	}
	return jsonValue{obj: t}
}

// jsonValue is a parsed JSON value: an object, or any other value's text.
// The zero jsonValue is a deleted member.
type jsonValue struct {
	obj *jsonObject
	raw []byte
}

// jsonObject is a JSON object's members in order, indexed by name. Of
// members with the same name the last value counts (as in encoding/json),
// at the place of the first.
type jsonObject struct {
	members []member
	at      map[string]int
}

// member is one member of a JSON object: its decoded name, the name's text
// as written and its value.
type member struct {
	name  string
	key   []byte
	value jsonValue
}

// parseJSON parses the JSON text src.
func parseJSON(src []byte) (jsonValue, error) {
	return parseValue(json.NewDecoder(bytes.NewReader(src)), src)
}

// parseValue reads the next value from dec, which reads src, descending
// into objects.
func parseValue(dec *json.Decoder, src []byte) (jsonValue, error) {
	rest := bytes.TrimLeft(src[dec.InputOffset():], " \t\r\n:")
	if len(rest) == 0 || rest[0] != '{' {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		return jsonValue{raw: raw}, err
	}
	if _, err := dec.Token(); err != nil { // {
		return jsonValue{}, err
	}
	o := &jsonObject{at: map[string]int{}}
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return jsonValue{}, err
		}
		name, _ := tok.(string)
		key := bytes.TrimLeft(src[start:dec.InputOffset()], ", \t\r\n")
		v, err := parseValue(dec, src)
		if err != nil {
			return jsonValue{}, err
		}
		if i, ok := o.at[name]; ok {
			o.members[i].value = v
			continue
		}
		o.at[name] = len(o.members)
		o.members = append(o.members, member{name: name, key: key, value: v})
	}
	if _, err := dec.Token(); err != nil { // }
		return jsonValue{}, err
	}
	return jsonValue{obj: o}, nil
}

// appendTo appends v's JSON text to buf, leaving out deleted members.
func (v jsonValue) appendTo(buf []byte) []byte {
	if v.obj == nil {
		return append(buf, v.raw...)
	}
	buf = append(buf, '{')
	first := true
	for _, m := range v.obj.members {
		if m.value.obj == nil && m.value.raw == nil {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = m.value.appendTo(append(append(buf, m.key...), ':'))
	}
	return append(buf, '}')
}

func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func uniqueStrings(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func backoff(attempt int) time.Duration {
	d := time.Duration(attempt+1) * 200 * time.Microsecond
	if d > 20*time.Millisecond {
		d = 20 * time.Millisecond
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
