package kvstate

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"reflect"
	"runtime"
	"sync"
	"weak"

	"github.com/kvsuite/kv/kvcore"
)

// Transition is a machine's logic: what an inbound event does to an
// entity's state, and the outbound events it produces. It changes *state in
// place. It runs on a copy of the committed state, and may run more than
// once for one event (after a conflict, on the state another writer
// committed), so it must not have effects outside its state and its result:
// leave those to outbound events and their consumers. An error rejects the
// event: Process returns it and nothing changes.
type Transition[S any] func(state *S, event any) (outbound []any, err error)

// DefaultRetries is how many times Process runs again after a conflict,
// unless WithRetries says otherwise.
const DefaultRetries = 20

// Option configures a machine.
type Option func(*config) error

type config struct {
	kind    string
	retries int
	events  []EventType
}

// Events registers event types: every inbound event passed to Process and
// every outbound event a transition returns must be of one of them. Events
// may be given more than once; the types add up.
func Events(types ...EventType) Option {
	return func(c *config) error {
		c.events = append(c.events, types...)
		return nil
	}
}

// WithKind names the kind of entity (default: the state type's Go name).
// The kind is part of every key (see the package documentation), so give
// one explicitly for data that must outlive a rename of the state type.
func WithKind(kind string) Option {
	return func(c *config) error {
		if err := checkKind(kind); err != nil {
			return err
		}
		c.kind = kind
		return nil
	}
}

// WithRetries sets how many times Process reloads the entity and runs its
// events again after losing to another writer, before it returns
// ErrConflict (default DefaultRetries; 0: never).
func WithRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: retries %d is negative", ErrInvalidArgument, n)
		}
		c.retries = n
		return nil
	}
}

// Machine is one kind of state machine on a store: its state type S, its
// transition and its event types. Load its entities by id.
//
// A Machine keeps one Entity per id while it is in use: Load returns the
// same *Entity to every caller, so that the Process calls of one process on
// one entity run one at a time on its latest state and never conflict with
// each other. Only writers elsewhere (other processes, other machines) can
// conflict, and the state record's version settles those. Make one Machine
// per kind and share it. A Machine is safe for concurrent use.
type Machine[S any] struct {
	store      *kvcore.Store
	transition Transition[S]
	kind       string
	retries    int
	events     *registry
	zero       json.RawMessage // the zero state, encoded

	mu   sync.Mutex
	live map[string]weak.Pointer[Entity[S]] // the entities in use, by id
}

// NewMachine returns a machine of the entities of kind S on store. It reads
// and writes nothing.
func NewMachine[S any](store *kvcore.Store, transition Transition[S], opts ...Option) (*Machine[S], error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalidArgument)
	}
	if transition == nil {
		return nil, fmt.Errorf("%w: nil transition", ErrInvalidArgument)
	}
	c := config{retries: DefaultRetries}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	if c.kind == "" {
		t := reflect.TypeFor[S]()
		if t.Name() == "" {
			return nil, fmt.Errorf("%w: state type %s has no name: give a kind with WithKind", ErrInvalidArgument, t)
		}
		if err := checkKind(t.Name()); err != nil {
			return nil, fmt.Errorf("state type %s: %w (give a kind with WithKind)", t, err)
		}
		c.kind = t.Name()
	}
	reg, err := newRegistry(c.events)
	if err != nil {
		return nil, err
	}
	m := &Machine[S]{store: store, transition: transition, kind: c.kind, retries: c.retries, events: reg,
		live: map[string]weak.Pointer[Entity[S]]{}}
	var zero S
	if m.zero, _, err = m.encodeState(&zero); err != nil {
		return nil, fmt.Errorf("%w: the zero %T: %w", ErrInvalidArgument, zero, err)
	}
	return m, nil
}

// New loads the entity id of a new machine (see NewMachine and
// Machine.Load). To load many entities of one kind, or one entity from
// several goroutines, make the machine once and share it.
func New[S any](ctx context.Context, store *kvcore.Store, id string, transition Transition[S], opts ...Option) (*Entity[S], error) {
	m, err := NewMachine(store, transition, opts...)
	if err != nil {
		return nil, err
	}
	return m.Load(ctx, id)
}

// Kind returns the machine's kind.
func (m *Machine[S]) Kind() string { return m.kind }

// Load returns entity id with its committed state and version, read
// afresh, or, if it has never committed, the zero state at version 0
// (nothing is written). If the entity is in use already, it is the same
// *Entity; Load waits for a Process of it in progress. An id is a
// non-empty UTF-8 string without NUL or '/'.
func (m *Machine[S]) Load(ctx context.Context, id string) (*Entity[S], error) {
	k, err := entityKeys(m.kind, id)
	if err != nil {
		return nil, fmt.Errorf("kvstate %s: %w", m.kind, err)
	}
	e := m.entity(id, k)
	if err := e.Reload(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// entity returns the machine's entity id, making it if none is in use.
// The machine holds it weakly: once no caller holds it, it is collected
// and forgotten.
func (m *Machine[S]) entity(id string, k keys) *Entity[S] {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.live[id].Value(); e != nil {
		return e
	}
	e := &Entity[S]{m: m, id: id, keys: k, cur: snapshot{state: m.zero}}
	m.live[id] = weak.Make(e)
	runtime.AddCleanup(e, m.forget, id)
	return e
}

// forget removes id's entry once its entity has been collected (and not
// made again since).
func (m *Machine[S]) forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live[id].Value() == nil {
		delete(m.live, id)
	}
}

// snapshot is what an entity knows of its committed state.
type snapshot struct {
	state   json.RawMessage // the state, encoded
	version int64           // the state record's version (0: none)
	seq     int64           // the number of the entity's last event
}

// envelope is the state record's value.
type envelope struct {
	Seq   *int64          `json:"seq"`
	State json.RawMessage `json:"state"`
}

// read reads e's state record.
func (m *Machine[S]) read(ctx context.Context, e *Entity[S]) (snapshot, error) {
	rec, ok, err := m.store.Get(ctx, e.keys.state(), nil)
	if err != nil {
		return snapshot{}, e.errorf("load: %w", err)
	}
	if !ok {
		return snapshot{state: m.zero}, nil
	}
	var env envelope
	if err := json.Unmarshal(rec.Value, &env); err != nil || env.Seq == nil || *env.Seq < 0 || len(env.State) == 0 {
		return snapshot{}, e.errorf("load: %w: state record %.64q is not {\"seq\": <n >= 0>, \"state\": ...}", ErrCorrupt, rec.Key)
	}
	var s S
	if err := m.decodeState(env.State, &s); err != nil {
		return snapshot{}, e.errorf("load: %w: state record %.64q: %w", ErrCorrupt, rec.Key, err)
	}
	return snapshot{state: env.State, version: rec.Version, seq: *env.Seq}, nil
}

// encodeState encodes *s and checks that it decodes again, so that no
// state is committed that could not be loaded. It returns the decoded copy.
func (m *Machine[S]) encodeState(s *S) (json.RawMessage, S, error) {
	var back S
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, back, fmt.Errorf("encode state: %w", err)
	}
	if err := m.decodeState(raw, &back); err != nil {
		return nil, back, fmt.Errorf("the encoded state does not decode: %w", err)
	}
	return raw, back, nil
}

// decodeState decodes a state into *s (numbers into an interface{} stay
// json.Number, as in kvcore).
func (m *Machine[S]) decodeState(raw json.RawMessage, s *S) error {
	return kvcore.JSON[S]{}.Unmarshal(raw, s)
}

// Entry is one stored event of an entity.
type Entry struct {
	// Key is the event record's key.
	Key string
	// Seq is the event's number in its entity: 1, 2, 3... in commit order,
	// inbound and outbound events alike.
	Seq int64
	// Outbound is false for an event passed to Process, true for one a
	// transition produced.
	Outbound bool
	// Name is the event's registered name, its record's type.
	Name string
	// Value is the event, a value of its registered Go type.
	Value any
}

// HistoryOption configures History.
type HistoryOption func(*historyOptions)

type historyOptions struct {
	after    int64
	pageSize int
}

// After makes History start after event number seq (a position from an
// earlier read).
func After(seq int64) HistoryOption {
	return func(o *historyOptions) { o.after = seq }
}

// PageSize sets how many events History reads per query (default
// kvcore.DefaultPageSize).
func PageSize(n int) HistoryOption {
	return func(o *historyOptions) { o.pageSize = n }
}

// History iterates over entity id's events in commit order, inbound and
// outbound, reading a page at a time by key (memory stays constant however
// long the history). An event whose name is not registered stops it with
// an error wrapping ErrUnknownEvent.
func (m *Machine[S]) History(ctx context.Context, id string, opts ...HistoryOption) iter.Seq2[Entry, error] {
	o := historyOptions{pageSize: kvcore.DefaultPageSize}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return func(yield func(Entry, error) bool) {
		k, err := entityKeys(m.kind, id)
		switch {
		case err != nil:
			yield(Entry{}, fmt.Errorf("kvstate %s: history: %w", m.kind, err))
			return
		case o.after < 0:
			yield(Entry{}, fmt.Errorf("kvstate %s %.64q: history: %w: after %d is negative", m.kind, id, ErrInvalidArgument, o.after))
			return
		case o.pageSize <= 0:
			yield(Entry{}, fmt.Errorf("kvstate %s %.64q: history: %w: page size %d must be positive", m.kind, id, ErrInvalidArgument, o.pageSize))
			return
		case o.after == math.MaxInt64:
			return
		}
		from := string(appendSeq([]byte(k.events()), o.after+1))
		for rec, err := range m.store.AllRange(ctx, from, k.eventsEnd(), kvcore.PageSize(o.pageSize)) {
			var ev Entry
			if err == nil {
				ev, err = m.event(k, rec)
			}
			if err != nil {
				err = fmt.Errorf("kvstate %s %.64q: history: %w", m.kind, id, err)
			}
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}

// event decodes an event record of the entity with keys k.
func (m *Machine[S]) event(k keys, rec kvcore.Record) (Entry, error) {
	seq, out, ok := parseEventSuffix(rec.Key[len(k.events()):])
	if !ok {
		return Entry{}, fmt.Errorf("%w: %.64q is not an event key", ErrCorrupt, rec.Key)
	}
	v, err := m.events.decode(rec.Type, rec.Value)
	if err != nil {
		return Entry{}, fmt.Errorf("event %d (%.64q): %w", seq, rec.Key, err)
	}
	return Entry{Key: rec.Key, Seq: seq, Outbound: out, Name: rec.Type, Value: v}, nil
}

// DecodeEvent decodes an event stored under name, such as the type and
// value of a record a kvstream consumer receives.
func (m *Machine[S]) DecodeEvent(name string, data json.RawMessage) (any, error) {
	return m.events.decode(name, data)
}
