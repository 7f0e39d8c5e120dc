package kvstate_test

// These examples need no database. Processing events needs a backend,
// which kvstate does not import: see the bankaccount program in kv's
// examples module (examples/bankaccount), which runs with its tests.

import (
	"fmt"

	"github.com/kvsuite/kv/kvstate"
)

// A kvstream consumer that follows a machine's outbound events by type
// reads the entity and the event's number from the record's key.
func ExampleParseEventKey() {
	for _, key := range []string{
		"kvstate/account/alice/events/0000000000000000012/out",
		"kvstate/account/alice/state",
	} {
		ref, ok := kvstate.ParseEventKey(key)
		fmt.Printf("%t %+v\n", ok, ref)
	}
	// Output:
	// true {Kind:account ID:alice Seq:12 Outbound:true}
	// false {Kind: ID: Seq:0 Outbound:false}
}

type Deposited struct{ Amount int64 }

type Withdrawn struct{ Amount int64 }

// Event types are registered by name: the Go type's name, or one given
// explicitly, which survives renaming the Go type.
func ExampleEventAs() {
	fmt.Println(kvstate.Event[Deposited]().Name())
	fmt.Println(kvstate.EventAs[Withdrawn]("account.withdrawn.v1", nil).Name())
	// Output:
	// Deposited
	// account.withdrawn.v1
}
