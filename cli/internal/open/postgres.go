package open

import (
	"context"
	"fmt"
)

// openPostgres will open github.com/kvsuite/kv/backend-postgres
// (postgreskv.Open(ctx, connString, opts...)) once it is built.
func openPostgres(ctx context.Context, cfg Config) (*Backend, error) {
	return nil, fmt.Errorf("the postgres backend is %w in this kv (use --type sqlite)", ErrNotBuilt)
}
