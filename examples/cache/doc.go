// Package cache holds the runnable examples of kvcache (reads from memory,
// kept exact by the change stream) on the embedded SQLite backend:
// go test -run Example -v shows them.
package cache
