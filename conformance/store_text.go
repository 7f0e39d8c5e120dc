package conformance

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
)

// testLiteralText: text that looks like SQL or like a BLOB literal (which
// rqlite's protocol could mistake for bytes) is stored and read back
// exactly, as key, value, type and namespace.
func testLiteralText(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	for _, text := range []string{`x'0A1B'`, `X'00'`, `'; DROP TABLE kv; --`, `0x41`, `NULL`, `\x00`} {
		ns, err := s.Namespace(text)
		require.NoError(t, err)
		value, err := json.Marshal(text)
		require.NoError(t, err)
		for _, st := range []*kvcore.Store{s.Store, ns} {
			require.NoError(t, st.Put(ctx, text, -1, json.RawMessage(value), kvcore.WithType(text)))
			r, err := st.GetRecord(ctx, text)
			require.NoError(t, err, "key %q", text)
			require.Equal(t, text, r.Key)
			require.Equal(t, string(value), string(r.Value))
			require.Equal(t, text, r.Type)
			got, err := st.GetPrefix(ctx, text, 0, 0)
			require.NoError(t, err)
			require.Len(t, got, 1, "prefix %q", text)
		}
	}
}
