// Package integration runs the suites of kv's front modules that must not
// import a backend (their go.mod names no database driver), kvstate's and
// kvgraph's, against every backend: SQLite, PostgreSQL and rqlite. It holds
// tests and benchmarks only:
//
//	cd integration && go test -race ./...
//
// PostgreSQL: KV_TEST_POSTGRES_URL, else the local server at
// 127.0.0.1:5432 (user postgres); each run works in a database of its own,
// dropped at the end, and the PostgreSQL parts skip, saying why, when no
// server answers (KV_REQUIRE_POSTGRES=1 makes that a failure). rqlite: a
// real rqlited ($KV_RQLITED, on PATH, or /tmp/rqlite-bin/rqlited), else
// kv's in-process stand-in, named as such in the output.
package integration
