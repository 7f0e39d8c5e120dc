// Package faults holds kv's fault-injection tests (test files only):
//
//   - a private PostgreSQL server, started for the test, is restarted and its
//     client connections are killed (pg_terminate_backend) while writers, a
//     kvtask.Runner and a kvstream consumer run; afterwards no acknowledged
//     write is lost, every task is completed exactly once and the consumer
//     saw every stream entry in order;
//   - a three-node rqlited cluster (when an rqlited binary is available)
//     loses its leader while writers run; afterwards no acknowledged write
//     is lost on any node.
//
// The default run is short (one restart and one kill round); set
// KV_RELIABILITY_LONG=1 for several rounds. See RELIABILITY.md.
package faults
