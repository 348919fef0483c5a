package testenv

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
)

// TestListensOn tells this process's listener from another process's.
func TestListensOn(t *testing.T) {
	var config net.ListenConfig
	listener, err := config.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	port := listener.Addr().(*net.TCPAddr).Port
	if ours, err := ListensOn(os.Getpid(), port); err != nil || !ours {
		t.Errorf("ListensOn(this process, its own port) = %t, %v; want true", ours, err)
	}
	other := exec.CommandContext(context.Background(), "sleep", "30")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	if ours, err := ListensOn(other.Process.Pid, port); err != nil || ours {
		t.Errorf("ListensOn(another process, this process's port) = %t, %v; want false", ours, err)
	}
	if ours, err := ListensOn(1<<30, port); err != nil || ours {
		t.Errorf("ListensOn(a process that does not exist, this process's port) = %t, %v; want false", ours, err)
	}
	free, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if ours, err := ListensOn(os.Getpid(), free); err != nil || ours {
		t.Errorf("ListensOn(this process, port %d nobody listens on) = %t, %v; want false", free, ours, err)
	}
}
