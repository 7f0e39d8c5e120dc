package kvlock

import (
	"errors"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock/driver"
)

// Errors returned by Locker. Test for them with errors.Is.
var (
	// ErrInvalidArgument: a name, owner or duration is not acceptable. It is
	// kvcore.ErrInvalidArgument.
	ErrInvalidArgument = kvcore.ErrInvalidArgument
	// ErrHeld: the lease is held by another owner.
	ErrHeld = errors.New("lease held by another owner")
	// ErrLost: a held lease was lost (it expired and another owner took it,
	// or renewing it kept failing until it expired).
	ErrLost = errors.New("lease lost")
	// ErrChangedHands: an Acquire was refused but could not tell who holds
	// the lease, which kept changing hands meanwhile. Nothing was granted;
	// trying again is safe. It is driver.ErrChangedHands.
	ErrChangedHands = driver.ErrChangedHands
)
