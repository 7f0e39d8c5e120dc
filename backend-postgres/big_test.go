package postgreskv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
)

// TestMutateAllHuge sends a batch whose results alone fill the socket
// buffers, to show that the pipeline does not deadlock.
func TestMutateAllHuge(t *testing.T) {
	db := newDB(t)
	s, _ := newStore(t, db)
	ctx := context.Background()
	const n = 30000
	ms := make([]kvcore.Mutation, n)
	for i := range ms {
		ms[i] = kvcore.Put(fmt.Sprintf("k%06d", i), 0, json.RawMessage(`{"v":"`+fmt.Sprint(i)+`"}`))
	}
	rows, err := s.MutateAll(ctx, ms...)
	require.NoError(t, err)
	require.Len(t, rows, n)
	c, err := s.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, n, c)
}
