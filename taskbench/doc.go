// Package taskbench measures kvtask's task throughput (tasks claimed and
// completed per second) on each kv backend beside River on the same
// PostgreSQL server in the same run, and checks that every task runs
// exactly once. It has no API: everything is in its tests and benchmarks
// (see README.md). It is its own module so that River is a dependency of
// this benchmark only.
package taskbench
