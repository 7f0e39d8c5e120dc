// Package reltest holds what the reliability module's test packages share:
// the switch between the short and the long form, and real rqlited
// processes on loopback (a single node or a cluster).
package reltest
