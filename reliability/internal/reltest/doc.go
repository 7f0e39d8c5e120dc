// Package reltest holds what the reliability module's test packages share:
// the switch between the short and the long form. (Real rqlited processes
// come from backend-rqlite/rqlitetest.)
package reltest
