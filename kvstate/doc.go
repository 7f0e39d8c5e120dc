// Package kvstate keeps event-sourced state machines on any kvcore.Store:
// SQLite, PostgreSQL or rqlite.
//
// A machine is a state type S, a transition function and the event types it
// knows. An entity is one instance of it, named by an id. Process hands the
// entity's inbound events to the transition, which changes a copy of the
// state and returns outbound events; the new state, every inbound event and
// every outbound event are then committed in one MutateAll, conditional on
// the version of the state the transition ran on:
//
//	type Account struct{ Balance int64 }
//	type Deposit struct{ Amount int64 }
//	type Deposited struct{ Amount, Balance int64 }
//
//	func apply(a *Account, event any) ([]any, error) {
//		switch e := event.(type) {
//		case Deposit:
//			if e.Amount <= 0 {
//				return nil, fmt.Errorf("deposit of %d: %w", e.Amount, ErrBadAmount)
//			}
//			a.Balance += e.Amount
//			return []any{Deposited{Amount: e.Amount, Balance: a.Balance}}, nil
//		}
//		return nil, fmt.Errorf("unexpected event %T", event)
//	}
//
//	accounts, err := kvstate.NewMachine(store, apply,
//		kvstate.WithKind("account"),
//		kvstate.Events(kvstate.Event[Deposit](), kvstate.Event[Deposited]()))
//	acc, err := accounts.Load(ctx, "alice")       // the zero Account if new
//	out, err := acc.Process(ctx, Deposit{Amount: 100})
//	balance := acc.State().Balance                  // 100, once committed
//	for ev, err := range accounts.History(ctx, "alice") { ... }
//
// kvstate.New(ctx, store, id, apply, opts...) is NewMachine and Load in one
// call.
//
// # Guarantees
//
//   - The transition runs on a copy of the committed state (decoded from its
//     stored JSON, so maps and slices are never shared), and the entity
//     takes the result only once it has committed. A transition error, an
//     unregistered event, a state that would not decode again, or a failed
//     write changes nothing, in the store or in the entity.
//   - A machine hands every goroutine that loads an id the same Entity,
//     whose Process calls take turns on its latest state: the writers of
//     one process never conflict with each other. Writers in other
//     processes (or through other machines) are serialised by the state
//     record's version: a writer that lost reloads the entity and runs its
//     events again on the state that won (after a short random wait), up
//     to WithRetries times (DefaultRetries), then returns ErrConflict. So
//     the transition may run more than once per event: keep it free of
//     outside effects, and let consumers of the outbound events act on
//     them.
//   - Events are numbered 1, 2, 3... per entity, inbound and outbound alike,
//     in commit order, without gaps or duplicates. An inbound event's
//     outbound events follow it directly.
//
// # Events
//
// Event types are registered by name with Events: Event[E] names E by its
// Go type name and stores it as JSON; EventAs gives a name and a codec. Each
// event record's type (kvcore's record type) is its name, so a kvstream
// consumer can follow a machine's outbound events by type
// (kvstream.OfType("Deposited")), read the entity and number from the key
// with ParseEventKey and decode the value with Machine.DecodeEvent. An
// event is written once, so its stream entry is a create
// (kvstream.ActionCreate); a consumer skips other actions on event keys (a
// delete, or a touch, which carries no value).
// History reads an event of a name the machine does not know as an error
// wrapping ErrUnknownEvent.
//
// # Key layout
//
// Every record of an entity is under one prefix, in the store's namespace:
//
//	kvstate/<kind>/<id>/state                            the state record
//	kvstate/<kind>/<id>/events/0000000000000000001/in    event 1, inbound
//	kvstate/<kind>/<id>/events/0000000000000000002/out   event 2, outbound
//
// The kind defaults to the state type's Go name (set it with WithKind). A
// kind or id is a non-empty UTF-8 string without NUL or '/', so no two
// entities share a prefix; the longest key must fit kvcore.MaxKeyLen (an id
// may have up to 984 bytes less the kind's length). Event numbers have 19
// digits with leading zeros, enough for any int64, so key order is commit
// order. The state record's type is the kind and its value is
// {"seq": <the last event's number>, "state": <the state as JSON>}; its
// version counts the entity's commits.
//
// The state is stored with encoding/json (a state type can control its form
// with json.Marshaler and json.Unmarshaler).
package kvstate
