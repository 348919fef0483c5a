//go:build !linux

package testenv

import "syscall"

// endWithTestBinary: only Linux can tie a child's life to its parent's
// (moto_linux.go); elsewhere a test binary that dies without stopping
// moto_server leaves it running.
func endWithTestBinary(*syscall.SysProcAttr) {}
