package postgreskv

import "context"

// StreamEntry is streamEntry, for the tests.
type StreamEntry = streamEntry

// StreamPos is streamPos, for the tests.
type StreamPos = streamPos

// StreamVisible is db.streamVisible, for the tests.
func StreamVisible(ctx context.Context, db *DB, after StreamPos, limit int) ([]StreamEntry, error) {
	return db.streamVisible(ctx, after, limit)
}
