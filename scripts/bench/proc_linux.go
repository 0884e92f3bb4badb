package main

import "syscall"

// childAttr makes the kernel stop a child server if this program dies, so
// that no pulse or nginx is ever left running.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// sigQuit asks nginx for a graceful shutdown.
var sigQuit = syscall.SIGQUIT
