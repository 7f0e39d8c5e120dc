// Package orders writes the changes the example programs read back: orders
// created, then shipped.
package orders

import (
	"context"
	"fmt"

	"github.com/kvsuite/kv/kvcore"
)

// Order is the record the examples write.
type Order struct {
	Item   string `json:"item"`
	Status string `json:"status"`
}

// Write makes n changes: it creates orders and ships each one it created,
// numbering new orders after those already stored.
func Write(ctx context.Context, store *kvcore.Store, n int) error {
	orders := kvcore.NewTyped[Order](store)
	next, err := store.CountPrefix(ctx, "order/")
	if err != nil {
		return err
	}
	items := []string{"book", "lamp", "chair", "mug"}
	for i := range n {
		key := fmt.Sprintf("order/%04d", next+i/2+1)
		if i%2 == 0 {
			// Version 0: create only; a second writer of this key would fail.
			err = orders.Put(ctx, key, 0, Order{Item: items[(next+i/2)%len(items)], Status: "new"})
		} else {
			// Version 1: update only the version just created (RFC 7396 merge patch).
			err = orders.Patch(ctx, key, 1, map[string]any{"status": "shipped"})
		}
		if err != nil {
			return err
		}
	}
	return nil
}
