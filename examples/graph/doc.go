// Package graph holds the runnable examples of kvgraph (a graph of typed
// entities: edges, traversals, shortest paths, DOT and Mermaid) on the
// embedded SQLite backend (a file in a temporary directory):
// go test -run Example -v shows them.
package graph
