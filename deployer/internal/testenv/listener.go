package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ListensOn reports whether process pid holds the socket listening on TCP
// port of 127.0.0.1. A process given a port chosen beforehand (FreePort)
// may lose it to another process, another test binary's, that binds it
// first: then whatever answers on the port is not the process under test.
// It reads Linux's /proc: the listening socket's inode in /proc/net/tcp
// (proc(5): local_address, st 0A is LISTEN, inode) among the process's
// open files (/proc/<pid>/fd links "socket:[inode]").
func ListensOn(pid, port int) (bool, error) {
	inode, err := listeningInode(port)
	if err != nil || inode == "" {
		return false, err
	}
	fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // the process is gone (it failed to bind, for one)
	}
	if err != nil {
		return false, fmt.Errorf("listing the open files of process %d: %w", pid, err)
	}
	want := "socket:[" + inode + "]"
	for _, fd := range fds {
		if link, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "fd", fd.Name())); err == nil && link == want {
			return true, nil
		}
	}
	return false, nil
}

// listeningInode returns the inode of the socket listening on
// 127.0.0.1:port, "" when there is none.
func listeningInode(port int) (string, error) {
	file, err := os.Open("/proc/net/tcp")
	if err != nil {
		return "", fmt.Errorf("reading the TCP sockets: %w", err)
	}
	defer file.Close()
	local := fmt.Sprintf("0100007F:%04X", port) // 127.0.0.1, little-endian address, hex port
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) > 9 && fields[1] == local && fields[3] == "0A" {
			return fields[9], nil
		}
	}
	if err := scanner.Err(); err != nil {
		return "", fmt.Errorf("reading the TCP sockets: %w", err)
	}
	return "", nil
}
