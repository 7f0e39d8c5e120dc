package kvstate

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/kvsuite/kv/kvcore"
)

// EventType is an event type registered with a machine: a Go type, the name
// its records carry (their kvcore record type) and the codec that stores
// it. Build one with Event or EventAs and pass it to Events.
type EventType struct {
	name   string
	typ    reflect.Type
	encode func(v any) (json.RawMessage, error)
	decode func(data json.RawMessage) (any, error)
	err    error // why the type cannot be registered
}

// Event registers the event type E under its Go type name (kvcore.TypeOf),
// stored as JSON. E must be a named, non-pointer, non-interface type; events
// are passed, returned and read back as E values.
func Event[E any]() EventType { return EventAs[E]("", nil) }

// EventAs registers the event type E under name ("": its Go type name),
// stored with codec (nil: kvcore.JSON). Give names explicitly for events
// that outlive a rename of their Go type.
func EventAs[E any](name string, codec kvcore.Codec[E]) EventType {
	t := reflect.TypeFor[E]()
	if codec == nil {
		codec = kvcore.JSON[E]{}
	}
	et := EventType{
		name:   name,
		typ:    t,
		encode: func(v any) (json.RawMessage, error) { return codec.Marshal(v.(E)) },
		decode: func(data json.RawMessage) (any, error) {
			var e E
			err := codec.Unmarshal(data, &e)
			return e, err
		},
	}
	switch t.Kind() {
	case reflect.Interface:
		et.err = fmt.Errorf("%w: event type %s is an interface: register concrete types", ErrInvalidArgument, t)
		return et
	case reflect.Pointer:
		et.err = fmt.Errorf("%w: event type %s is a pointer: register %s (events are values)", ErrInvalidArgument, t, t.Elem())
		return et
	}
	if et.name == "" {
		et.name = t.Name()
		if et.name == "" {
			et.err = fmt.Errorf("%w: event type %s has no name: give one with EventAs", ErrInvalidArgument, t)
			return et
		}
	}
	if err := kvcore.ValidateName("event name", et.name); err != nil {
		et.err = fmt.Errorf("event type %s: %w", t, err)
	}
	return et
}

// Name returns the name the event's records carry.
func (t EventType) Name() string { return t.name }

// registry is a machine's event types, by name and by Go type.
type registry struct {
	byName map[string]EventType
	byType map[reflect.Type]EventType
}

func newRegistry(types []EventType) (*registry, error) {
	r := &registry{byName: map[string]EventType{}, byType: map[reflect.Type]EventType{}}
	for i, t := range types {
		switch {
		case t.typ == nil:
			return nil, fmt.Errorf("%w: event type %d is the zero EventType (build it with kvstate.Event)", ErrInvalidArgument, i)
		case t.err != nil:
			return nil, t.err
		}
		if prev, dup := r.byName[t.name]; dup && prev.typ != t.typ {
			return nil, fmt.Errorf("%w: event name %.64q is registered for both %s and %s", ErrInvalidArgument, t.name, prev.typ, t.typ)
		}
		if prev, dup := r.byType[t.typ]; dup && prev.name != t.name {
			return nil, fmt.Errorf("%w: event type %s is registered as both %.64q and %.64q", ErrInvalidArgument, t.typ, prev.name, t.name)
		}
		r.byName[t.name], r.byType[t.typ] = t, t
	}
	return r, nil
}

// encode returns the name and stored form of event v.
func (r *registry) encode(v any) (string, json.RawMessage, error) {
	if v == nil {
		return "", nil, fmt.Errorf("%w: nil event", ErrUnknownEvent)
	}
	t, ok := r.byType[reflect.TypeOf(v)]
	if !ok {
		hint := ""
		if rt := reflect.TypeOf(v); rt.Kind() == reflect.Pointer {
			if _, ok := r.byType[rt.Elem()]; ok {
				hint = fmt.Sprintf(" (%s is: pass events as values)", rt.Elem())
			}
		}
		return "", nil, fmt.Errorf("%w: %T is not registered%s", ErrUnknownEvent, v, hint)
	}
	raw, err := t.encode(v)
	if err != nil {
		return "", nil, fmt.Errorf("encode %s: %w", t.name, err)
	}
	return t.name, raw, nil
}

// decode returns the event stored as data under name.
func (r *registry) decode(name string, data json.RawMessage) (any, error) {
	t, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: no event type is registered as %.64q", ErrUnknownEvent, name)
	}
	v, err := t.decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: decode %s: %w", ErrCorrupt, name, err)
	}
	return v, nil
}
