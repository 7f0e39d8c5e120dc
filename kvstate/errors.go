package kvstate

import (
	"errors"

	"github.com/kvsuite/kv/kvcore"
)

// Errors returned by kvstate. Test for them with errors.Is.
var (
	// ErrInvalidArgument: an id, kind, option or event type is not
	// acceptable. Nothing was read or written.
	ErrInvalidArgument = kvcore.ErrInvalidArgument
	// ErrUnknownEvent: an event whose Go type (passed to Process, or
	// returned by a transition) or stored name (read back) is not
	// registered with the machine.
	ErrUnknownEvent = errors.New("unknown event type")
	// ErrConflict: Process lost to other writers of the same entity on
	// every attempt its retries allowed. Nothing of it was written; the
	// error also wraps kvcore.ErrVersionMismatch.
	ErrConflict = errors.New("conflicting writes to the entity")
	// ErrCorrupt: a stored record of the entity is not what kvstate wrote:
	// a state record it cannot decode, an event key it cannot parse, or
	// events stored beyond the sequence number its state record holds.
	ErrCorrupt = errors.New("corrupt state machine record")
)
