// Package badinput holds kv's bad-input suite: fuzz tests of keys, values
// and cursors through a real (in-memory SQLite) store, a table of bad
// arguments to the Go API (kvcore, kvlock, kvstream, kvtask, kvgraph) and to
// the kv command, each of which must give a clear error and change nothing,
// and checks that no error, log line or output of the kv command shows the
// password of a connection string. Everything is in its tests; run them with
//
//	go test ./badinput
//
// and a fuzzer for a while with e.g.
//
//	go test -run '^$' -fuzz FuzzStoreKeys -fuzztime 60s ./badinput
package badinput
