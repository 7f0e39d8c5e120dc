package rqlitetest

// The one policy for tests that want an rqlite: a real rqlited where a
// binary is found (RqlitedPath), else a skip or the in-process stand-in,
// said in the test's log; KV_REQUIRE_RQLITED=1 (as CI sets it) makes the
// absence of a real rqlited a failure instead.

import (
	"os"
	"testing"
)

// Required reports whether KV_REQUIRE_RQLITED=1: a test that wants a real
// rqlited then fails where there is none, rather than skipping or using
// the stand-in.
func Required() bool { return os.Getenv("KV_REQUIRE_RQLITED") == "1" }

// NeedRqlited returns the rqlited binary (RqlitedPath), or skips tb saying
// why there is none (fails it if KV_REQUIRE_RQLITED=1).
func NeedRqlited(tb testing.TB) string {
	tb.Helper()
	bin, err := RqlitedPath()
	if err != nil {
		if Required() {
			tb.Fatal("KV_REQUIRE_RQLITED=1 but " + err.Error())
		}
		tb.Skip("needs a real rqlited: " + err.Error())
	}
	return bin
}

// StartRqlited starts a single real rqlited node for tb, its data in tb's
// temporary directory and args more flags for it, stopped when tb ends.
// Without a binary it skips or fails tb as NeedRqlited does.
func StartRqlited(tb testing.TB, args ...string) *Node {
	tb.Helper()
	bin := NeedRqlited(tb)
	n, err := StartNode(bin, tb.TempDir(), "n1", "", args...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(n.Stop)
	tb.Logf("rqlite: a real rqlited (%s) at %s", bin, n.URL())
	return n
}

// StartRqlitedAuth is StartRqlited for a node that requires HTTP basic
// auth with user and password (see StartAuthNode).
func StartRqlitedAuth(tb testing.TB, user, password string) *Node {
	tb.Helper()
	bin := NeedRqlited(tb)
	n, err := StartAuthNode(bin, tb.TempDir(), "n1", user, password)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(n.Stop)
	tb.Logf("rqlite: a real rqlited (%s) with basic auth at %s", bin, n.URL())
	return n
}

// StartRqlitedCluster starts a cluster of n real rqlited nodes for tb (see
// StartCluster), stopped when tb ends. Without a binary it skips or fails
// tb as NeedRqlited does.
func StartRqlitedCluster(tb testing.TB, n int, args ...string) *Cluster {
	tb.Helper()
	bin := NeedRqlited(tb)
	c, err := StartCluster(bin, tb.TempDir(), n, args...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Stop)
	tb.Logf("rqlite: a real %d-node rqlited cluster (%s) at %s", n, bin, c.URL())
	return c
}

// NewURL returns the URL of a new, empty rqlite for tb, gone when tb ends:
// a real single-node rqlited where a binary is found, else the stand-in
// (Start), said in tb's log; without a binary, KV_REQUIRE_RQLITED=1 fails
// tb instead.
func NewURL(tb testing.TB) string {
	tb.Helper()
	return newURL(tb, "", "")
}

// NewAuthURL is NewURL for an rqlite that requires HTTP basic auth with
// user and password.
func NewAuthURL(tb testing.TB, user, password string) string {
	tb.Helper()
	return newURL(tb, user, password)
}

func newURL(tb testing.TB, user, password string) string {
	tb.Helper()
	if _, err := RqlitedPath(); err != nil {
		if Required() {
			tb.Fatal("KV_REQUIRE_RQLITED=1 but " + err.Error())
		}
		tb.Logf("rqlite: %v: rqlitetest, the in-process STAND-IN for rqlite (not a real rqlite)", err)
		if user != "" {
			return Start(tb, WithBasicAuth(user, password)).URL
		}
		return Start(tb).URL
	}
	if user != "" {
		return StartRqlitedAuth(tb, user, password).URL()
	}
	return StartRqlited(tb).URL()
}
