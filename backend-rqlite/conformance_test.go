package rqlitekv

import (
	"testing"

	"github.com/kvsuite/kv/conformance"
	"github.com/kvsuite/kv/kvcore/driver"
)

// TestConformance runs the kvcore suite against the chosen rqlite server
// (see TestMain); each test gets an isolated, empty, initialised store.
func TestConformance(t *testing.T) {
	t.Logf("server: %s", serverKind)
	conformance.RunStore(t, func(t *testing.T) driver.Store {
		return openEmpty(t)
	})
}
