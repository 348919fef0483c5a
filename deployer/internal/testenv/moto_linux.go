//go:build linux

package testenv

import "syscall"

// endWithTestBinary makes the kernel kill moto_server when the test binary
// that started it dies without stopping it (a panic, go test's -timeout, a
// killed run: mutation testing kills test binaries that outlive their
// budget). Setpgid takes moto_server out of the test binary's process group,
// so nothing else would end it (prctl(2), PR_SET_PDEATHSIG).
func endWithTestBinary(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
