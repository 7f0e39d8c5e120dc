package rqlitetest

import "syscall"

// procAttr makes an rqlited die with the test process that started it (a
// test binary that panics or is killed leaves no node running).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
