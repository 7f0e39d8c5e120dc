package open

import (
	"context"
	"fmt"

	"github.com/kvsuite/kv/kvcore"
)

// SchemaError says that the database's kv schema is missing or older than
// this kv needs, and that kv init creates or migrates it. It wraps
// kvcore.ErrNotInitialized.
type SchemaError struct {
	Applied, Required int // the schema versions applied and needed (0: none applied)
}

func (e *SchemaError) Error() string {
	if e.Applied == 0 {
		return "the database is not initialised (it has no kv schema): run kv init to create it; a command that only reads never does"
	}
	return fmt.Sprintf("the database's kv schema is at version %d and this kv needs version %d: run kv init to migrate it; a command that only reads never does", e.Applied, e.Required)
}

func (e *SchemaError) Unwrap() error { return kvcore.ErrNotInitialized }

// CheckSchema reports, without writing anything, whether the store's schema
// is the one this kv needs: nil, or a *SchemaError. It is what a command
// that only reads does instead of Init. A database in this process's memory
// (which starts empty, and which no one else sees) is initialised instead.
func (b *Backend) CheckSchema(ctx context.Context) error {
	if b.private {
		_, _, err := b.InitSchema(ctx, nil)
		return err
	}
	applied, required, err := b.Store.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if applied < required {
		return &SchemaError{Applied: applied, Required: required}
	}
	return nil
}

// InitSchema creates or migrates the store's schema (Init) and returns
// the schema versions before and after. If first is not nil, it is called
// with the version before, and its error stops InitSchema before Init.
func (b *Backend) InitSchema(ctx context.Context, first func(before int) error) (before, after int, err error) {
	before, required, err := b.Store.SchemaVersion(ctx)
	if err != nil {
		return 0, 0, err
	}
	if first != nil {
		if err := first(before); err != nil {
			return before, 0, err
		}
	}
	if err := b.Store.Init(ctx); err != nil {
		return before, 0, err
	}
	return before, max(before, required), nil
}
