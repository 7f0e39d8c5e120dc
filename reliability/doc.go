// Package reliability holds kv's reliability tests: linearizability checked
// with porcupine, crash safety of the SQLite backend under SIGKILL, and
// leases and tasks under contention across processes. See RELIABILITY.md in
// the repository root.
package reliability
