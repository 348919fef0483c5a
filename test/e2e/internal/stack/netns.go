//go:build linux

package stack

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// netnsMarkerEnv marks the re-executed test binary that already runs inside
// the loopback-only network namespace.
const netnsMarkerEnv = "E2E_IN_LOOPBACK_NETNS"

// InLoopbackNetns reports whether this process is the copy of the test binary
// that ReexecInLoopbackNetns started inside a fresh network namespace.
func InLoopbackNetns() bool {
	return os.Getenv(netnsMarkerEnv) == "1"
}

// ReexecInLoopbackNetns runs this binary again, with the same arguments, in a
// new network namespace, and returns the exit code to exit with.
//
// The namespace is anonymous: it lives exactly as long as the processes in it,
// so a killed or crashed run leaves nothing behind (unlike `ip netns add`,
// whose bind mount outlives its users). Every server of the stack binds
// 127.0.0.1 inside it; Crossplane's metrics and health ports, which bind all
// interfaces, are therefore unreachable from outside too, and the fixed ports
// cannot clash with anything else on the machine.
func ReexecInLoopbackNetns() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: cannot find the test binary to re-execute: %v\n", err)
		return 1
	}
	//nolint:gosec,noctx // re-executes this very test binary with its own arguments, for as long as it runs
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), netnsMarkerEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET,
		// If this parent dies, the stack must not outlive it.
		Pdeathsig: syscall.SIGKILL,
	}

	// Ctrl-C reaches the whole process group anyway; SIGTERM from a CI runner
	// may reach only this parent, so pass it on and let the child clean up.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)

	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			fmt.Fprintf(os.Stderr, "e2e: FAIL: cannot create a network namespace (%v).\n"+
				"The e2e tests run their control plane inside a loopback-only network namespace\n"+
				"and need the privilege to create one (root, or CAP_SYS_ADMIN). Run them as root,\n"+
				"as CI does; they do not skip themselves.\n", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "e2e: FAIL: cannot start the test binary in a new network namespace: %v\n", err)
		return 1
	}
	go func() {
		for s := range signals {
			_ = cmd.Process.Signal(s)
		}
	}()
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && exitErr.ExitCode() >= 0 {
			return exitErr.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "e2e: test binary in the network namespace failed: %v\n", err)
		return 1
	}
	return 0
}

// BringUpLoopback sets the loopback interface of the current network
// namespace up (a new namespace starts with it down) and checks that it is the
// only interface, so that nothing started here can reach or be reached from
// another network.
func BringUpLoopback() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open a socket to configure the loopback interface: %w", err)
	}
	defer unix.Close(fd)

	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("cannot name the loopback interface: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("cannot read the loopback interface's flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("cannot set the loopback interface up: %w", err)
	}

	ifaces, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("cannot list network interfaces: %w", err)
	}
	for _, i := range ifaces {
		if i.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("network namespace is not loopback-only: found interface %q", i.Name)
		}
	}
	return nil
}
