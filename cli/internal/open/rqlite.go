package open

import (
	"context"
	"fmt"
)

// openRQLite will open github.com/kvsuite/kv/backend-rqlite
// (rqlitekv.Open(connString, opts...)) once it is built.
func openRQLite(ctx context.Context, cfg Config) (*Backend, error) {
	return nil, fmt.Errorf("the rqlite backend is %w in this kv (use --type sqlite)", ErrNotBuilt)
}
