// Package cache holds the runnable examples of kvcache (reads from memory,
// kept exact by the change stream) on the embedded SQLite backend (a
// file in a temporary directory):
// go test -run Example -v shows them.
package cache
