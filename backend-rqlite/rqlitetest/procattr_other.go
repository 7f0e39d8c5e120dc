//go:build !linux

package rqlitetest

import "syscall"

// procAttr is nil where the kernel cannot end a child with its parent.
func procAttr() *syscall.SysProcAttr { return nil }
